// Two finished backtests side by side: statistics with their difference, both equity
// curves on one chart.
import { useMemo } from 'react';
import { api } from '../api/endpoints';
import { TimeChart } from '../charts/TimeChart';
import { ErrorLine, Section } from '../components/Status';
import { href } from '../lib/route';
import { equityByCurrency, palette, reportTitle } from '../report/derive';
import { StatsTable } from '../report/StatsTable';
import { useResource } from '../state/useResource';

export function ComparePage({ ids }: { ids: [string, string] }) {
  const { data: reports, error } = useResource(() => Promise.all(ids.map((id) => api.report(id))), [ids[0], ids[1]]);

  const labels = ids.map((id, i) => `${i === 0 ? 'A' : 'B'}: ${id}`);
  const series = useMemo(
    () =>
      (reports ?? []).flatMap((r, i) =>
        [...equityByCurrency(r)].map(([ccy, points], k) => ({
          name: `${i === 0 ? 'A' : 'B'} ${ccy}`,
          color: palette[(i * 2 + k) % palette.length],
          points,
        })),
      ),
    [reports],
  );

  return (
    <>
      <p>
        <a href={href('backtests')}>← Backtests</a>
      </p>
      <h1>
        Compare {ids[0]} and {ids[1]}
      </h1>
      <ErrorLine error={error} />
      {reports && (
        <>
          <Section title="Runs">
            <ul>
              {reports.map((r, i) => (
                <li key={ids[i]}>
                  {labels[i]} — {reportTitle(r)}
                </li>
              ))}
            </ul>
          </Section>
          <Section title="Equity">
            <TimeChart testId="compare-equity-chart" label="Equity of both runs" series={series} />
          </Section>
          <Section title="Statistics">
            <StatsTable reports={reports} labels={labels} />
          </Section>
        </>
      )}
    </>
  );
}
