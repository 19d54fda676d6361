// A deployment's open orders from its newest `progress` figures (at most 50 rows; the
// total counts all). Figures of older servers have neither field: no open order shown.
import type { Figures, OrderRow } from '../../api/types';
import { Section } from '../../components/Status';
import { num, utc } from '../../lib/format';

export function openOrdersOf(f: Pick<Figures, 'open_orders' | 'open_orders_total'> | null | undefined): {
  rows: OrderRow[];
  total: number;
} {
  const rows = f?.open_orders ?? [];
  return { rows, total: Math.max(f?.open_orders_total ?? 0, rows.length) };
}

function priceText(o: OrderRow): string {
  const parts = [o.price ? o.price : null, o.trigger_price ? `trigger ${o.trigger_price}` : null].filter(Boolean);
  return parts.length > 0 ? parts.join(', ') : '—';
}

export function OpenOrders({ rows, total }: { rows: OrderRow[]; total: number }) {
  return (
    <Section title={`Open orders (${num(total)})`}>
      {total === 0 && (
        <p className="muted" data-testid="open-orders-empty">
          No open orders.
        </p>
      )}
      {rows.length > 0 && (
        <div className="table-wrap">
          <table className="data" data-testid="open-orders">
            <caption>Orders of this deployment not yet filled, cancelled or rejected</caption>
            <thead>
              <tr>
                <th scope="col">Order</th>
                <th scope="col">Instrument</th>
                <th scope="col">Side</th>
                <th scope="col">Type</th>
                <th scope="col" className="num">Quantity</th>
                <th scope="col" className="num">Filled</th>
                <th scope="col" className="num">Price</th>
                <th scope="col">Status</th>
                <th scope="col">Since (UTC)</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((o) => (
                <tr key={o.client_order_id} data-testid="open-order-row">
                  <th scope="row">{o.client_order_id}</th>
                  <td>{o.instrument_id}</td>
                  <td className={o.side === 'BUY' ? 'buy' : 'sell'}>{o.side}</td>
                  <td>{o.order_type}</td>
                  <td className="num">{o.quantity}</td>
                  <td className="num">{o.filled_qty}</td>
                  <td className="num">{priceText(o)}</td>
                  <td>
                    {o.status}
                    {o.reason ? ` (${o.reason})` : ''}
                  </td>
                  <td>{utc(o.ts_init)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {total > rows.length && (
        <p className="muted" data-testid="open-orders-more">
          showing {rows.length} of {num(total)}
        </p>
      )}
    </Section>
  );
}
