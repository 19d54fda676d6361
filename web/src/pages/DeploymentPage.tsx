// One deployment: state and actions (halt/resume/flatten/stop/hot-swap), open orders,
// charts from its events, fills, faults, swap history, the event log and its audit records.
import { useEffect, useMemo, useRef, useState } from 'react';
import { auditAll } from '../api/auditAll';
import { api } from '../api/endpoints';
import type { FlattenOutcome, StreamEvent } from '../api/types';
import { TimeChart } from '../charts/TimeChart';
import { AuditTable } from '../components/AuditTable';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { Badge, ErrorLine, ProgressBar, Section } from '../components/Status';
import { moneyMap, num, sessionLabel, short, utc } from '../lib/format';
import { can } from '../lib/roles';
import { href } from '../lib/route';
import { useSession } from '../state/session';
import { useLive } from '../state/useLive';
import { useResource } from '../state/useResource';
import { EventsLog } from './deployment/EventsLog';
import { FillsTable } from './deployment/FillsTable';
import { OpenOrders, openOrdersOf } from './deployment/OpenOrders';
import { RiskLimits } from './deployment/RiskLimits';
import { drawdownSeries, equitySeries, fillPriceSeries, pnlByCurrency } from './deployment/series';
import { SwapDialog } from './deployment/SwapDialog';

const SWAP_KINDS = new Set(['swapped', 'rolled-back', 'committed', 'swap-refused']);
const NO_EVENTS: StreamEvent[] = [];

type Dialog = 'halt' | 'resume' | 'flatten' | 'stop' | 'swap' | null;

function flattenText(o: FlattenOutcome): string {
  const state = o.changed ? `halted (trading state ${o.trading_state})` : `was already halted (trading state ${o.trading_state})`;
  const orders = o.flatten ? 'every position is being closed with reduce-only market orders' : 'no flatten was ordered';
  return `Flatten of ${o.deployment}: ${state}; ${orders}.${o.audit_error ? ` Audit record not written: ${o.audit_error}` : ''}`;
}

export function DeploymentPage({ id }: { id: string }) {
  const session = useSession();
  const store = useLive();
  const [dialog, setDialog] = useState<Dialog>(null);
  const [flattened, setFlattened] = useState<FlattenOutcome | null>(null);
  const d = store.deployments.get(id);
  const l = store.live.get(id);
  const withEvents = can.readEvents(session.role);
  const events = l?.events ?? NO_EVENTS;
  const count = events.length;

  useEffect(() => {
    if (withEvents) void store.catchUp(id);
  }, [id, withEvents, store]);

  const readAudit = can.readAudit(session.role);
  const { data: audit, error: auditError, reload: reloadAudit } = useResource(
    async () => (readAudit ? (await auditAll()).filter((r) => r.subject.includes(id)) : null),
    [id, readAudit],
  );
  // New events may come with new audit records (halts, swaps, …).
  const auditedAt = useRef(count);
  useEffect(() => {
    if (auditedAt.current === count) return;
    auditedAt.current = count;
    if (readAudit) void reloadAudit();
  }, [readAudit, count, reloadAudit]);

  // Recomputed when events are added (the events array grows in place).
  const fills = l?.fills;
  const price = useMemo(() => fillPriceSeries(fills ? [...fills] : []), [fills, count]);
  const pnl = useMemo(() => pnlByCurrency(events), [events, count]);
  const equity = useMemo(() => equitySeries(pnl), [pnl]);
  const dd = useMemo(() => drawdownSeries(pnl), [pnl]);

  if (!d) {
    return (
      <>
        <h1>Deployment {id}</h1>
        {store.error ? <ErrorLine error={store.error} /> : <p className="muted">Loading…</p>}
      </>
    );
  }

  const operate = can.operate(session.role);
  const running = d.status === 'running';
  const swaps = events.filter((e) => SWAP_KINDS.has(e.event.kind));
  const p = l?.progress;
  const done = p?.events ?? d.events_fed;
  const total = p?.total ?? d.events_total;
  const openOrders = openOrdersOf(p ?? d.figures);

  return (
    <>
      <p>
        <a href={href('overview')}>← Overview</a>
      </p>
      <h1>Deployment {d.id}</h1>
      <Section
        title="State"
        actions={
          operate &&
          running && (
            <>
              {d.trading_state === 'HALTED' ? (
                <button type="button" className="primary" data-testid="resume-button" onClick={() => setDialog('resume')}>
                  Resume
                </button>
              ) : (
                <button type="button" className="danger" data-testid="halt-button" onClick={() => setDialog('halt')}>
                  Halt
                </button>
              )}
              <button type="button" className="danger" data-testid="flatten-button" onClick={() => setDialog('flatten')}>
                Flatten
              </button>
              <button type="button" data-testid="swap-button" onClick={() => setDialog('swap')}>
                Hot-swap
              </button>
              <button type="button" className="danger" data-testid="stop-button" onClick={() => setDialog('stop')}>
                Stop
              </button>
            </>
          )
        }
      >
        <dl className="facts">
          <dt>Status</dt>
          <dd>
            <Badge value={d.status} testId="deployment-status" />
          </dd>
          <dt>Trading state</dt>
          <dd>
            <Badge value={d.trading_state} testId="deployment-state" />
            {(l?.faults.length ?? 0) > 0 && <Badge value="quarantined" />}
          </dd>
          <dt>Plugin</dt>
          <dd>
            {d.plugin} ({short(d.digest)}) under <a href={href('grants')}>{d.grant}</a>
          </dd>
          {d.session_kind && (
            <>
              <dt>Session</dt>
              <dd>{sessionLabel(d)}</dd>
            </>
          )}
          <dt>Parameters</dt>
          <dd>{Object.entries(d.params).map(([k, v]) => `${k}=${v}`).join(', ') || '—'}</dd>
          <dt>Created by</dt>
          <dd>{d.created_by}</dd>
          <dt>Simulated time</dt>
          <dd>{utc(p?.sim_ts ?? d.sim_ts)}</dd>
          <dt>Data events</dt>
          <dd>
            <ProgressBar done={done} total={total} label="Data events fed" /> {num(done)} of {num(total)}
          </dd>
          {p && (
            <>
              <dt>Realized / unrealized PnL</dt>
              <dd>
                {moneyMap(p.realized_pnl)} / {moneyMap(p.unrealized_pnl)}
              </dd>
              <dt>Callbacks / fuel</dt>
              <dd>
                {num(p.callbacks)} / {num(p.fuel_total)}
              </dd>
              <dt>Orders refused / signals received</dt>
              <dd>
                {num(p.orders_refused)} / {num(p.signals_received)}
              </dd>
            </>
          )}
          {d.outcome !== null && d.outcome !== undefined && (
            <>
              <dt>Outcome</dt>
              <dd className="details">{JSON.stringify(d.outcome)}</dd>
            </>
          )}
        </dl>
        {flattened?.deployment === d.id && (
          <p role="status" data-testid="flatten-outcome">
            {flattenText(flattened)}
          </p>
        )}
      </Section>

      <OpenOrders rows={openOrders.rows} total={openOrders.total} />

      {running && (
        <Section title="Risk limits">
          <RiskLimits id={d.id} running={running} />
        </Section>
      )}

      {withEvents && (
        <>
          <Section title="Charts">
            <TimeChart testId="price-chart" label="Fill prices (buy ▲ / sell ▼)" series={price} />
            <TimeChart testId="equity-chart" label="Equity: realized + unrealized PnL" series={equity} />
            <TimeChart testId="drawdown-chart" label="Drawdown from the PnL peak" series={dd} height={180} />
          </Section>
          <Section title="Fills">
            <FillsTable fills={l?.fills ?? []} />
          </Section>
          <Section title="Faults">
            {(l?.faults.length ?? 0) === 0 ? (
              <p className="muted">No fault.</p>
            ) : (
              <ul className="faults">
                {l!.faults.map((f) => (
                  <li key={f.seq}>
                    seq {f.seq}: {JSON.stringify(f.event)}
                  </li>
                ))}
              </ul>
            )}
          </Section>
          <Section title="Swap and rollback history">
            {swaps.length === 0 ? (
              <p className="muted">No swap.</p>
            ) : (
              <table className="data compact" data-testid="swap-history">
                <thead>
                  <tr>
                    <th scope="col" className="num">Seq</th>
                    <th scope="col">Kind</th>
                    <th scope="col">Details</th>
                  </tr>
                </thead>
                <tbody>
                  {swaps.map((e) => {
                    const { kind, ...rest } = e.event as Record<string, unknown>;
                    return (
                      <tr key={e.seq}>
                        <td className="num">{e.seq}</td>
                        <td>{String(kind)}</td>
                        <td className="details">{JSON.stringify(rest)}</td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            )}
          </Section>
          <Section title="Event log">
            <EventsLog events={events} />
          </Section>
        </>
      )}

      {readAudit && (
        <Section title="Audit records">
          <ErrorLine error={auditError} />
          {audit && <AuditTable records={audit} caption={`Audit records naming ${d.id}`} />}
        </Section>
      )}

      {(dialog === 'halt' || dialog === 'resume') && (
        <ConfirmDialog
          title={dialog === 'halt' ? `Halt ${d.id}?` : `Resume ${d.id}?`}
          confirmLabel={dialog === 'halt' ? 'Halt' : 'Resume'}
          danger={dialog === 'halt'}
          requireReason
          onClose={() => setDialog(null)}
          onConfirm={async (reason) => {
            await (dialog === 'halt' ? api.halt(d.id, reason) : api.resume(d.id, reason));
            setFlattened(null);
            await store.refresh();
          }}
        />
      )}
      {dialog === 'flatten' && (
        <ConfirmDialog
          title={`Flatten ${d.id}?`}
          confirmLabel="Flatten"
          danger
          requireReason
          onClose={() => setDialog(null)}
          onConfirm={async (reason) => {
            setFlattened(null);
            setFlattened(await api.flatten(d.id, reason));
            await store.refresh();
          }}
        >
          <p>
            Flattening halts the deployment and closes every position with reduce-only market orders; its open orders are
            cancelled. It stays halted until it is resumed.
          </p>
        </ConfirmDialog>
      )}
      {dialog === 'stop' && (
        <ConfirmDialog
          title={`Stop ${d.id}?`}
          confirmLabel="Stop"
          danger
          onClose={() => setDialog(null)}
          onConfirm={async () => {
            await api.stop(d.id);
            await store.refresh();
          }}
        >
          <p>The deployment drains, writes its state snapshot and ends; it cannot be restarted.</p>
        </ConfirmDialog>
      )}
      {dialog === 'swap' && <SwapDialog deployment={d} onClose={() => setDialog(null)} onDone={() => void store.refresh()} />}
    </>
  );
}
