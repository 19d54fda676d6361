// A sweep's figure over two swept parameters as an SVG grid with a colour-scale legend.
import type { SweepRow } from '../../api/types';
import { num } from '../../lib/format';

interface Props {
  rows: SweepRow[];
  x: string;
  y: string;
  metric: string;
}

const CELL_W = 72;
const CELL_H = 32;
const LEFT = 90;
const TOP = 30;

const sortValues = (vs: string[]) =>
  [...new Set(vs)].sort((a, b) => {
    const na = Number(a);
    const nb = Number(b);
    return Number.isFinite(na) && Number.isFinite(nb) ? na - nb : a.localeCompare(b);
  });

/** Red (low) → light → green (high). */
function colour(t: number): string {
  const lerp = (a: number, b: number, u: number) => Math.round(a + (b - a) * u);
  const [lo, mid, hi] = [
    [215, 48, 39],
    [247, 247, 247],
    [26, 152, 80],
  ];
  const [a, b, u] = t < 0.5 ? [lo, mid, t * 2] : [mid, hi, (t - 0.5) * 2];
  return `rgb(${lerp(a[0], b[0], u)},${lerp(a[1], b[1], u)},${lerp(a[2], b[2], u)})`;
}

export const metricOf = (r: SweepRow, metric: string): number => {
  const v = r[metric];
  return typeof v === 'number' ? v : typeof v === 'string' ? Number.parseFloat(v) : NaN;
};

export function Heatmap({ rows, x, y, metric }: Props) {
  const xs = sortValues(rows.map((r) => r.params[x]).filter((v) => v !== undefined));
  const ys = sortValues(rows.map((r) => r.params[y]).filter((v) => v !== undefined));
  // Several rows per cell (other parameters swept too): the best value is shown.
  const cell = new Map<string, number>();
  for (const r of rows) {
    const v = metricOf(r, metric);
    if (!Number.isFinite(v)) continue;
    const k = `${r.params[x]}|${r.params[y]}`;
    cell.set(k, Math.max(cell.get(k) ?? -Infinity, v));
  }
  const values = [...cell.values()];
  const min = Math.min(...values);
  const max = Math.max(...values);
  const t = (v: number) => (max > min ? (v - min) / (max - min) : 0.5);
  const width = LEFT + xs.length * CELL_W + 20;
  const height = TOP + ys.length * CELL_H + 70;
  const legendY = TOP + ys.length * CELL_H + 30;
  const stops = [0, 0.25, 0.5, 0.75, 1];

  return (
    <svg
      data-testid="sweep-heatmap"
      role="img"
      aria-label={`${metric} by ${x} and ${y}, from ${num(min)} to ${num(max)}`}
      width={width}
      height={height}
      viewBox={`0 0 ${width} ${height}`}
      className="heatmap"
    >
      <text x={LEFT + (xs.length * CELL_W) / 2} y={14} textAnchor="middle" className="axis-title">
        {x}
      </text>
      <text x={10} y={TOP + (ys.length * CELL_H) / 2} className="axis-title">
        {y}
      </text>
      {xs.map((xv, i) => (
        <text key={xv} x={LEFT + i * CELL_W + CELL_W / 2} y={TOP - 4} textAnchor="middle">
          {xv}
        </text>
      ))}
      {ys.map((yv, j) => (
        <g key={yv}>
          <text x={LEFT - 6} y={TOP + j * CELL_H + CELL_H / 2 + 4} textAnchor="end">
            {yv}
          </text>
          {xs.map((xv, i) => {
            const v = cell.get(`${xv}|${yv}`);
            return (
              <g key={xv}>
                <rect
                  x={LEFT + i * CELL_W}
                  y={TOP + j * CELL_H}
                  width={CELL_W - 2}
                  height={CELL_H - 2}
                  fill={v === undefined ? '#d9dde3' : colour(t(v))}
                >
                  <title>{`${x}=${xv}, ${y}=${yv}: ${v === undefined ? 'no result' : num(v)}`}</title>
                </rect>
                <text x={LEFT + i * CELL_W + CELL_W / 2} y={TOP + j * CELL_H + CELL_H / 2 + 4} textAnchor="middle" className="cell-text">
                  {v === undefined ? '—' : num(v, 2)}
                </text>
              </g>
            );
          })}
        </g>
      ))}
      <g aria-hidden="true">
        {stops.map((s, i) => (
          <g key={s}>
            <rect x={LEFT + i * 60} y={legendY} width={58} height={14} fill={colour(s)} />
            <text x={LEFT + i * 60 + 29} y={legendY + 28} textAnchor="middle">
              {num(min + (max - min) * s, 2)}
            </text>
          </g>
        ))}
        <text x={LEFT - 6} y={legendY + 11} textAnchor="end">
          {metric}
        </text>
      </g>
    </svg>
  );
}
