// A sweep's result (GET /v1/sweeps/{id}/result): runs ranked, and a heatmap of a chosen
// figure over two chosen swept parameters.
import { useState } from 'react';
import { api } from '../api/endpoints';
import { ErrorLine, Section } from '../components/Status';
import { num, pct } from '../lib/format';
import { href } from '../lib/route';
import { useResource } from '../state/useResource';
import { Heatmap, metricOf } from './backtests/Heatmap';

const FIXED = new Set(['rank', 'params', 'error']);

export function SweepResultPage({ id }: { id: string }) {
  const { data, error } = useResource(async () => {
    const job = await api.job('sweeps', id);
    return { job, result: job.status === 'finished' ? await api.sweepResult(id) : null };
  }, [id]);
  const job = data?.job;
  const result = data?.result;
  const [chosenX, setX] = useState('');
  const [chosenY, setY] = useState('');
  const [metric, setMetric] = useState('pnl');
  // Until a choice is made: the first two swept parameters.
  const x = chosenX || (result?.params[0] ?? '');
  const y = chosenY || (result?.params[1] ?? result?.params[0] ?? '');

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
