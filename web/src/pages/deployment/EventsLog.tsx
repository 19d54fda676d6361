// Every applied event of a deployment (newest first, paged), one row per (deployment, seq).
// A signal delivery reads as a sentence: delivered, or a dead letter with its reason; the
// open orders a progress event carries are counted, not listed.
import { useState } from 'react';
import type { SignalDeliveryEvent, StreamEvent } from '../../api/types';
import { Pager, paged } from '../../components/Pager';
import { utc } from '../../lib/format';

const PAGE = 200;

const delivery = (e: StreamEvent): SignalDeliveryEvent | null =>
  e.event.kind === 'signal-delivery' ? (e.event as SignalDeliveryEvent) : null;

function details(e: StreamEvent): string {
  const s = delivery(e);
  if (s) {
    const at = s.event_ts ? ` at ${utc(s.event_ts)}` : '';
    const what = `signal ${s.signal_id} (intake #${s.seq})`;
    return s.delivered ? `Delivered ${what}${at}.` : `Dead letter: ${what} not delivered${at}: ${s.reason ?? 'no reason given'}`;
  }
  const { kind: _kind, ...rest } = e.event as Record<string, unknown>;
  // A progress event carries up to 50 open orders (the page's open-orders table shows them).
  if (Array.isArray(rest.open_orders)) rest.open_orders = `${rest.open_orders.length} rows`;
  return JSON.stringify(rest);
}

/** Row class: `ev-<kind>`, and `ev-dead-letter` for a failed signal delivery. */
function rowClass(e: StreamEvent): string {
  const s = delivery(e);
  return s && !s.delivered ? `ev-${e.event.kind} ev-dead-letter` : `ev-${e.event.kind}`;
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
              <tr key={e.seq} data-testid="event-row" data-key={`${e.deployment}:${e.seq}`} className={rowClass(e)}>
                <td className="num">{e.seq}</td>
                <td>
                  {e.event.kind}
                  {delivery(e)?.delivered === false && <strong className="error"> (dead letter)</strong>}
                </td>
                <td className={delivery(e) ? 'prewrap' : 'details'}>{details(e)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <Pager page={view.page} pages={view.pages} total={events.length} onPage={setPage} label="Events" />
    </div>
  );
}
