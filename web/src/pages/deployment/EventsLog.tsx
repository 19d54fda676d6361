// Every applied event of a deployment (newest first, paged), one row per (deployment, seq).
import { useState } from 'react';
import type { StreamEvent } from '../../api/types';
import { Pager, paged } from '../../components/Pager';

const PAGE = 200;

function details(e: StreamEvent): string {
  const { kind: _kind, ...rest } = e.event as Record<string, unknown>;
  return JSON.stringify(rest);
}

export function EventsLog({ events }: { events: StreamEvent[] }) {
  const [page, setPage] = useState(0);
  const newest = [...events].reverse();
  const view = paged(newest, page, PAGE);
  return (
    <div>
      <div className="table-wrap">
        <table className="data log" data-testid="events-log">
          <caption>Events and diagnostics</caption>
          <thead>
            <tr>
              <th scope="col" className="num">Seq</th>
              <th scope="col">Kind</th>
              <th scope="col">Details</th>
            </tr>
          </thead>
          <tbody>
            {view.slice.map((e) => (
              <tr key={e.seq} data-testid="event-row" data-key={`${e.deployment}:${e.seq}`} className={`ev-${e.event.kind}`}>
                <td className="num">{e.seq}</td>
                <td>{e.event.kind}</td>
                <td className="details">{details(e)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <Pager page={view.page} pages={view.pages} total={events.length} onPage={setPage} label="Events" />
    </div>
  );
}
