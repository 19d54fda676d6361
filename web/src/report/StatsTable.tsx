// The statistics of one run, or of several side by side with the difference of two.
import { num, pct } from '../lib/format';
import { money } from '../charts/points';
import type { Report } from './types';

interface Row {
  group: string;
  name: string;
  values: (number | string | null)[];
}

function rowsOf(reports: Report[]): Row[] {
  const rows: Row[] = [];
  const add = (group: string, name: string, pick: (r: Report) => number | string | null | undefined) =>
    rows.push({ group, name, values: reports.map((r) => pick(r) ?? null) });
  add('portfolio', 'Max drawdown %', (r) => r.portfolio.max_drawdown_pct);
  const ccys = [...new Set(reports.flatMap((r) => Object.keys(r.portfolio.starting_balances ?? {})))];
  for (const c of ccys) {
    add('portfolio', `Starting balance (${c})`, (r) => r.portfolio.starting_balances?.[c]);
    add('portfolio', `Final balance (${c})`, (r) => r.portfolio.final_balances?.[c]);
  }
  const pnlCcys = [...new Set(reports.flatMap((r) => Object.keys(r.portfolio.pnl_stats ?? {})))];
  for (const c of pnlCcys) {
    const names = [...new Set(reports.flatMap((r) => Object.keys(r.portfolio.pnl_stats?.[c] ?? {})))];
    for (const n of names) add(`PnL (${c})`, n, (r) => r.portfolio.pnl_stats?.[c]?.[n]);
  }
  for (const [group, key] of [
    ['returns', 'returns_stats'],
    ['general', 'general_stats'],
  ] as const) {
    const names = [...new Set(reports.flatMap((r) => Object.keys(r.portfolio[key] ?? {})))];
    for (const n of names) add(group, n, (r) => r.portfolio[key]?.[n]);
  }
  add('run', 'Orders', (r) => r.strategies.reduce((a, s) => a + s.orders.length, 0));
  add('run', 'Fills', (r) => r.strategies.reduce((a, s) => a + s.fills.length, 0));
  add('run', 'Events', (r) => r.events);
  return rows;
}

function cell(group: string, name: string, v: number | string | null): string {
  if (typeof v === 'number' && group === 'portfolio' && name.startsWith('Max drawdown')) return pct(v);
  return num(v, 6);
}

export function StatsTable({ reports, labels }: { reports: Report[]; labels?: string[] }) {
  const rows = rowsOf(reports);
  const diff = reports.length === 2;
  return (
    <div className="table-wrap">
      <table data-testid="stats-table" className="data">
        <caption>Statistics</caption>
        <thead>
          <tr>
            <th scope="col">Group</th>
            <th scope="col">Statistic</th>
            {reports.map((_, i) => (
              <th scope="col" key={i} className="num">
                {labels?.[i] ?? 'Value'}
              </th>
            ))}
            {diff && (
              <th scope="col" className="num">
                Difference (B − A)
              </th>
            )}
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => {
            const [a, b] = r.values.map((v) => money(v as string | number | null));
            return (
              <tr key={`${r.group}/${r.name}`}>
                <td>{r.group}</td>
                <th scope="row">{r.name}</th>
                {r.values.map((v, i) => (
                  <td key={i} className="num">
                    {cell(r.group, r.name, v)}
                  </td>
                ))}
                {diff && <td className="num">{Number.isFinite(a) && Number.isFinite(b) ? num(b - a, 6) : '—'}</td>}
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
