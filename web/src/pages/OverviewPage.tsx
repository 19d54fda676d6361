// Every deployment with its live figures (GET /v1/deployments + events + /v1/stream),
// and the service-wide kill switch.
import { KillSwitch } from '../components/KillSwitch';
import { Badge, ErrorLine, Section } from '../components/Status';
import { moneyMap, num, sessionLabel, utc } from '../lib/format';
import { can } from '../lib/roles';
import { href } from '../lib/route';
import type { DeploymentView } from '../api/types';
import type { DeploymentLive } from '../state/live';
import { useSession } from '../state/session';
import { useLive } from '../state/useLive';

function positions(l: DeploymentLive | undefined): string {
  if (!l || l.position.size === 0) return '—';
  return [...l.position].map(([inst, q]) => `${inst} ${q > 0 ? '+' : ''}${num(q)}`).join(', ');
}

function figures(d: DeploymentView, l: DeploymentLive | undefined) {
  const p = l?.progress;
  return {
    realized: p ? moneyMap(p.realized_pnl) : moneyMap(d.figures?.realized_pnl),
    unrealized: p ? moneyMap(p.unrealized_pnl) : moneyMap(d.figures?.unrealized_pnl),
    fills: l && l.lastSeq > 0 ? l.fills.length : d.figures?.fills,
    fuel: p?.fuel_total ?? d.figures?.fuel_total,
    callbacks: p?.callbacks ?? d.figures?.callbacks,
    lastEvent: l?.lastEventTs || d.last_event_ns || 0,
  };
}

export function OverviewPage() {
  const session = useSession();
  const store = useLive();
  const withEvents = can.readEvents(session.role);
  const rows = [...store.deployments.values()];
  return (
    <>
      <h1>Overview</h1>
      <Section title="Kill switch">
        <KillSwitch />
      </Section>
      <Section title="Deployments">
        <ErrorLine error={store.error} />
        {rows.length === 0 ? (
          <p className="muted">No deployment yet.</p>
        ) : (
          <div className="table-wrap">
            <table className="data" data-testid="deployments-table">
              <thead>
                <tr>
                  <th scope="col">Deployment</th>
                  <th scope="col">Plugin</th>
                  <th scope="col">Session</th>
                  <th scope="col">Status</th>
                  <th scope="col">Trading</th>
                  <th scope="col" className="num">Realized PnL</th>
                  <th scope="col" className="num">Unrealized PnL</th>
                  {withEvents && <th scope="col">Net position</th>}
                  <th scope="col" className="num">Fills</th>
                  <th scope="col">Last event (UTC)</th>
                  <th scope="col" className="num">Fuel</th>
                  <th scope="col" className="num">Callbacks</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((d) => {
                  const l = store.live.get(d.id);
                  const f = figures(d, l);
                  const quarantined = (l?.faults.length ?? 0) > 0;
                  return (
                    <tr key={d.id} data-testid={`deployment-row-${d.id}`}>
                      <th scope="row">
                        <a href={href('deployments', d.id)} data-testid={`open-${d.id}`}>
                          {d.id}
                        </a>
                      </th>
                      <td>{d.plugin}</td>
                      <td>{sessionLabel(d)}</td>
                      <td data-testid="status">
                        <Badge value={d.status} />
                      </td>
                      <td data-testid="state">
                        <Badge value={d.trading_state} />
                        {quarantined && <Badge value="quarantined" />}
                      </td>
                      <td className="num" data-testid="realized-pnl">
                        {f.realized}
                      </td>
                      <td className="num">{f.unrealized}</td>
                      {withEvents && <td>{positions(l)}</td>}
                      <td className="num" data-testid="fills">
                        {num(f.fills)}
                      </td>
                      <td data-testid="last-event">{utc(f.lastEvent)}</td>
                      <td className="num">{num(f.fuel)}</td>
                      <td className="num">{num(f.callbacks)}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
      </Section>
    </>
  );
}
