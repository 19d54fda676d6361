// The risk gate's account of the run: policy, orders accepted, refusals by reason, state changes.
import { num, utc } from '../lib/format';
import type { Report } from './types';

function Reasons({ title, m }: { title: string; m: Record<string, number> | undefined }) {
  const entries = Object.entries(m ?? {});
  return (
    <div>
      <h4>{title}</h4>
      {entries.length === 0 ? (
        <p className="muted">None.</p>
      ) : (
        <table className="data compact">
          <thead>
            <tr>
              <th scope="col">Reason</th>
              <th scope="col" className="num">Orders</th>
            </tr>
          </thead>
          <tbody>
            {entries.map(([k, v]) => (
              <tr key={k}>
                <td>{k}</td>
                <td className="num">{num(v)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

export function RiskSummary({ report }: { report: Report }) {
  const r = report.risk;
  return (
    <div data-testid="risk-summary" className="risk">
      <dl className="facts">
        <dt>Policy</dt>
        <dd>
          {r.policy_version}
          {r.policy_sha256 ? ` (sha256 ${r.policy_sha256.slice(0, 16)}…)` : ''}
        </dd>
        <dt>Orders accepted</dt>
        <dd>{num(r.orders_accepted)}</dd>
        <dt>Orders refused</dt>
        <dd>{num(Object.values(r.refused_by_reason ?? {}).reduce((a, b) => a + b, 0))}</dd>
      </dl>
      <div className="grid3">
        <Reasons title="Refused by the risk gate" m={r.refused_by_reason} />
        {r.venue_rejected_by_reason && <Reasons title="Rejected by the venue" m={r.venue_rejected_by_reason} />}
        {r.denied_by_reason && <Reasons title="Denied" m={r.denied_by_reason} />}
      </div>
      <h4>Trading state changes</h4>
      {r.state_changes.length === 0 ? (
        <p className="muted">None.</p>
      ) : (
        <table className="data compact">
          <thead>
            <tr>
              <th scope="col">Time (UTC)</th>
              <th scope="col">Change</th>
              <th scope="col">Details</th>
            </tr>
          </thead>
          <tbody>
            {r.state_changes.map((c, i) => {
              const { ts, from, to, ...rest } = c;
              return (
                <tr key={i}>
                  <td>{typeof ts === 'number' ? utc(ts) : '—'}</td>
                  <td>{from || to ? `${from ?? '?'} → ${to ?? '?'}` : '—'}</td>
                  <td>{Object.keys(rest).length ? JSON.stringify(rest) : ''}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </div>
  );
}
