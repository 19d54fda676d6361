// Chart series of a deployment from its events: fill prices with buy/sell markers,
// equity (realized + unrealized PnL per currency from `progress`) and its drawdown.
import { drawdownAbs, money, nsToSec, snapMarkers, uniqueByTime, type Point } from '../../charts/points';
import type { ChartSeries } from '../../charts/TimeChart';
import type { FillEvent, ProgressEvent, StreamEvent } from '../../api/types';
import { palette } from '../../report/derive';

export function fillPriceSeries(fills: FillEvent[]): ChartSeries[] {
  const instruments = [...new Set(fills.map((f) => f.instrument_id))];
  return instruments.map((inst, i) => {
    const mine = fills.filter((f) => f.instrument_id === inst);
    const points = uniqueByTime(mine.map((f) => ({ time: nsToSec(f.ts_event), value: money(f.price) })));
    const markers = mine.map((f) => ({ time: nsToSec(f.ts_event), side: f.side }));
    return { name: inst, color: palette[i % palette.length], points, markers: snapMarkers(markers, points) };
  });
}

export function pnlByCurrency(events: StreamEvent[]): Map<string, Point[]> {
  const out = new Map<string, Point[]>();
  for (const e of events) {
    if (e.event.kind !== 'progress') continue;
    const p = e.event as ProgressEvent;
    if (!p.sim_ts) continue;
    const ccys = new Set([...Object.keys(p.realized_pnl ?? {}), ...Object.keys(p.unrealized_pnl ?? {})]);
    for (const c of ccys) {
      const r = money(p.realized_pnl?.[c] ?? '0');
      const u = money(p.unrealized_pnl?.[c] ?? '0');
      const list = out.get(c) ?? [];
      list.push({ time: nsToSec(p.sim_ts), value: (Number.isFinite(r) ? r : 0) + (Number.isFinite(u) ? u : 0) });
      out.set(c, list);
    }
  }
  for (const [c, list] of out) out.set(c, uniqueByTime(list));
  return out;
}

export function equitySeries(pnl: Map<string, Point[]>): ChartSeries[] {
  return [...pnl].map(([c, points], i) => ({ name: `${c} PnL`, color: palette[i % palette.length], points }));
}

export function drawdownSeries(pnl: Map<string, Point[]>): ChartSeries[] {
  return [...pnl].map(([c, points], i) => ({
    name: `${c} drawdown`,
    color: palette[(i + 1) % palette.length],
    points: drawdownAbs(points),
  }));
}
