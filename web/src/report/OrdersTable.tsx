// Every order of the run, paged (runs have thousands), with its fill price.
import { useMemo, useState } from 'react';
import { Pager, paged } from '../components/Pager';
import { utc } from '../lib/format';
import type { Report } from './types';

const PAGE = 100;

export function OrdersTable({ report }: { report: Report }) {
  const [page, setPage] = useState(0);
  const rows = useMemo(() => {
    const px = new Map<string, string>();
    for (const s of report.strategies) for (const f of s.fills) px.set(f.client_order_id, f.last_px);
    return report.strategies.flatMap((s) =>
      s.orders.map((o) => ({ ...o, strategy: s.strategy_id, fill_px: px.get(o.client_order_id) ?? null })),
    );
  }, [report]);
  const view = paged(rows, page, PAGE);
  return (
    <div>
      <div className="table-wrap">
        <table className="data" data-testid="orders-table">
          <caption>Orders</caption>
          <thead>
            <tr>
              <th scope="col">Order</th>
              <th scope="col">Time (UTC)</th>
              <th scope="col">Instrument</th>
              <th scope="col">Side</th>
              <th scope="col">Type</th>
              <th scope="col" className="num">Quantity</th>
              <th scope="col" className="num">Limit</th>
              <th scope="col">Status</th>
              <th scope="col" className="num">Filled</th>
              <th scope="col" className="num">Fill price</th>
            </tr>
          </thead>
          <tbody>
            {view.slice.map((o) => (
              <tr key={`${o.strategy}/${o.client_order_id}`} data-testid="order-row">
                <td>{o.client_order_id}</td>
                <td>{utc(o.ts_init)}</td>
                <td>{o.instrument_id}</td>
                <td className={o.side === 'BUY' ? 'buy' : 'sell'}>{o.side}</td>
                <td>{o.order_type}</td>
                <td className="num">{o.quantity}</td>
                <td className="num">{o.price ?? '—'}</td>
                <td>{o.status}</td>
                <td className="num">{o.filled_qty}</td>
                <td className="num">{o.fill_px ?? '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <Pager page={view.page} pages={view.pages} total={rows.length} onPage={setPage} label="Orders" />
    </div>
  );
}
