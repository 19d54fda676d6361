// The fills of a deployment, newest first, paged.
import { useState } from 'react';
import type { FillEvent } from '../../api/types';
import { Pager, paged } from '../../components/Pager';
import { utc } from '../../lib/format';

const PAGE = 100;

export function FillsTable({ fills }: { fills: FillEvent[] }) {
  const [page, setPage] = useState(0);
  const view = paged([...fills].reverse(), page, PAGE);
  return (
    <div>
      <div className="table-wrap">
        <table className="data" data-testid="fills-table">
          <caption>Fills</caption>
          <thead>
            <tr>
              <th scope="col">Time (UTC)</th>
              <th scope="col">Order</th>
              <th scope="col">Instrument</th>
              <th scope="col">Side</th>
              <th scope="col" className="num">Quantity</th>
              <th scope="col" className="num">Price</th>
            </tr>
          </thead>
          <tbody>
            {view.slice.map((f, i) => (
              <tr key={`${f.order_id}-${f.ts_event}-${i}`} data-testid="fill-row">
                <td>{utc(f.ts_event)}</td>
                <td>{f.order_id}</td>
                <td>{f.instrument_id}</td>
                <td className={f.side === 'BUY' ? 'buy' : 'sell'}>{f.side}</td>
                <td className="num">{f.quantity}</td>
                <td className="num">{f.price}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <Pager page={view.page} pages={view.pages} total={fills.length} onPage={setPage} label="Fills" />
    </div>
  );
}
