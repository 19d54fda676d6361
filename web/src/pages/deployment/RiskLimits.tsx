// The limits a deployment's risk gate applies and how much of them it uses now
// (GET /v1/deployments/{id}/risk), refreshed while the deployment runs.
import { useEffect } from 'react';
import { api } from '../../api/endpoints';
import type { RiskView } from '../../api/types';
import { ErrorLine } from '../../components/Status';
import { useResource } from '../../state/useResource';

const REFRESH_MS = 2000;

/** Limit key → the figure of the book it bounds (where the gate keeps one). */
function used(key: string, r: RiskView, scope: 'plugin' | 'service'): string | null {
  const u = scope === 'plugin' ? r.usage : r.service_usage;
  switch (key) {
    case 'max_gross_exposure':
      return `${u.gross_exposure} ${r.currency}`;
    case 'max_open_orders':
      return String(u.open_orders);
    case 'max_daily_loss':
      return scope === 'service' ? `${r.service_daily_loss} ${r.currency}` : null;
    case 'max_drawdown':
      return scope === 'service' ? `${r.service_drawdown} ${r.currency}` : null;
    default:
      return null;
  }
}

const shown = (v: unknown): string => (Array.isArray(v) ? v.join(', ') : String(v));

export function RiskLimits({ id, running }: { id: string; running: boolean }) {
  const { data: risk, error, reload } = useResource(() => api.risk(id), [id]);

  useEffect(() => {
    if (!running) return;
    const timer = window.setInterval(() => void reload(), REFRESH_MS);
    return () => window.clearInterval(timer);
  }, [running, reload]);

  if (error) return <ErrorLine error={error} />;
  if (!risk) return <p className="muted">Loading…</p>;
  const rows: [string, 'plugin' | 'service', unknown][] = [
    ...Object.entries(risk.limits).map(([k, v]) => [k, 'plugin', v] as [string, 'plugin', unknown]),
    ...Object.entries(risk.global).map(([k, v]) => [k, 'service', v] as [string, 'service', unknown]),
  ];
  return (
    <>
      <p>
        Policy <strong>{risk.policy_version}</strong> ({risk.currency}, sha256 {risk.policy_sha256.slice(0, 12) || '—'}):
        trading {risk.trading_state}
        {risk.trading_reason ? ` (${risk.trading_reason})` : ''}; a halt {risk.flatten_on_halt ? 'also closes' : 'keeps'} the
        positions.
      </p>
      <table className="data compact" data-testid="risk-limits">
        <caption>Limits and their use now</caption>
        <thead>
          <tr>
            <th scope="col">Applies to</th>
            <th scope="col">Limit</th>
            <th scope="col">Value</th>
            <th scope="col">In use now</th>
          </tr>
        </thead>
        <tbody>
          <tr data-testid="risk-row">
            <td>this deployment</td>
            <td>(figures)</td>
            <td>—</td>
            <td>
              exposure {risk.usage.gross_exposure} {risk.currency}, {risk.usage.open_orders} open orders, PnL {risk.usage.pnl}{' '}
              {risk.currency}
            </td>
          </tr>
          {rows.map(([key, scope, value]) => (
            <tr key={`${scope}:${key}`} data-testid="risk-row">
              <td>{scope === 'plugin' ? 'this deployment' : 'the whole service'}</td>
              <td>{key}</td>
              <td>{shown(value)}</td>
              <td>{used(key, risk, scope) ?? '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {rows.length === 0 && <p className="muted">The policy sets no limit beyond the contract's own checks.</p>}
    </>
  );
}
