// A sweep's result (GET /v1/sweeps/{id}/result): runs ranked, and a heatmap of a chosen
// figure over two chosen swept parameters.
import { useEffect, useState } from 'react';
import { errorText } from '../api/client';
import { api } from '../api/endpoints';
import type { JobView, SweepResult } from '../api/types';
import { ErrorLine, Section } from '../components/Status';
import { num, pct } from '../lib/format';
import { href } from '../lib/route';
import { Heatmap, metricOf } from './backtests/Heatmap';

const FIXED = new Set(['rank', 'params', 'error']);

export function SweepResultPage({ id }: { id: string }) {
  const [job, setJob] = useState<JobView | null>(null);
  const [result, setResult] = useState<SweepResult | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [x, setX] = useState('');
  const [y, setY] = useState('');
  const [metric, setMetric] = useState('pnl');

  useEffect(() => {
    api
      .job('sweeps', id)
      .then((j) => {
        setJob(j);
        return j.status === 'finished' ? api.sweepResult(id) : null;
      })
      .then((r) => {
        if (!r) return;
        setResult(r);
        setX(r.params[0] ?? '');
        setY(r.params[1] ?? r.params[0] ?? '');
      })
      .catch((e) => setError(errorText(e)));
  }, [id]);

  const metrics = result
    ? [...new Set(result.rows.flatMap((r) => Object.keys(r).filter((k) => !FIXED.has(k) && Number.isFinite(metricOf(r, k)))))]
    : [];

  return (
    <>
      <p>
        <a href={href('backtests')}>← Backtests</a>
      </p>
      <h1>Sweep {id}</h1>
      <ErrorLine error={error} />
      {job && job.status !== 'finished' && <p>This sweep is {job.status}; its result is there once it has finished.</p>}
      {result && (
        <>
          <Section title="Ranked runs">
            <div className="table-wrap">
              <table className="data" data-testid="sweep-table">
                <thead>
                  <tr>
                    <th scope="col" className="num">Rank</th>
                    {result.params.map((p) => (
                      <th scope="col" key={p}>
                        {p}
                      </th>
                    ))}
                    <th scope="col" className="num">PnL</th>
                    <th scope="col" className="num">Max drawdown</th>
                    <th scope="col" className="num">Sharpe</th>
                    <th scope="col" className="num">Orders</th>
                    <th scope="col">Error</th>
                  </tr>
                </thead>
                <tbody>
                  {result.rows.map((r) => (
                    <tr key={r.rank + JSON.stringify(r.params)}>
                      <td className="num">{r.rank}</td>
                      {result.params.map((p) => (
                        <td key={p}>{r.params[p]}</td>
                      ))}
                      <td className="num">{num(r.pnl, 2)}</td>
                      <td className="num">{pct(r.max_drawdown_pct ?? null)}</td>
                      <td className="num">{num(r.sharpe, 3)}</td>
                      <td className="num">{num(r.orders)}</td>
                      <td>{r.error ?? ''}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </Section>
          {result.params.length >= 1 && (
            <Section title="Heatmap">
              <div className="row">
                <label className="field">
                  Horizontal parameter
                  <select value={x} onChange={(e) => setX(e.target.value)}>
                    {result.params.map((p) => (
                      <option key={p}>{p}</option>
                    ))}
                  </select>
                </label>
                <label className="field">
                  Vertical parameter
                  <select value={y} onChange={(e) => setY(e.target.value)}>
                    {result.params.map((p) => (
                      <option key={p}>{p}</option>
                    ))}
                  </select>
                </label>
                <label className="field">
                  Figure
                  <select value={metric} onChange={(e) => setMetric(e.target.value)}>
                    {metrics.map((m) => (
                      <option key={m}>{m}</option>
                    ))}
                  </select>
                </label>
              </div>
              <Heatmap rows={result.rows} x={x} y={y} metric={metric} />
            </Section>
          )}
        </>
      )}
    </>
  );
}
