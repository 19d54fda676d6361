// Series helpers shared by the console and the report: nanosecond timestamps to chart
// seconds, one point per second (lightweight-charts needs strictly increasing times),
// drawdown from an equity curve.

export interface Point {
  /** UNIX seconds (UTC). */
  time: number;
  value: number;
}

export interface Marker {
  time: number;
  side: 'BUY' | 'SELL';
  text?: string;
}

export const nsToSec = (ns: number): number => Math.floor(ns / 1e9);

/** Sorted by time, the last value of each second kept. */
export function uniqueByTime(points: Point[]): Point[] {
  const sorted = [...points].sort((a, b) => a.time - b.time);
  const out: Point[] = [];
  for (const p of sorted) {
    if (!Number.isFinite(p.value)) continue;
    const last = out[out.length - 1];
    if (last && last.time === p.time) last.value = p.value;
    else out.push({ ...p });
  }
  return out;
}

/** Drawdown in percent of the running peak (0 or negative). */
export function drawdown(equity: Point[]): Point[] {
  let peak = -Infinity;
  return equity.map((p) => {
    peak = Math.max(peak, p.value);
    const dd = peak > 0 ? ((p.value - peak) / peak) * 100 : p.value - peak;
    return { time: p.time, value: dd };
  });
}

/** Drawdown in absolute money from the running peak (for PnL curves that start at zero). */
export function drawdownAbs(equity: Point[]): Point[] {
  let peak = -Infinity;
  return equity.map((p) => {
    peak = Math.max(peak, p.value);
    return { time: p.time, value: p.value - peak };
  });
}

/** Each marker moved to the latest series time at or before it (so it sits on the line). */
export function snapMarkers(markers: Marker[], series: Point[]): Marker[] {
  if (series.length === 0) return [];
  const times = series.map((p) => p.time);
  const out = markers.map((m) => {
    let lo = 0;
    let hi = times.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (times[mid] <= m.time) lo = mid;
      else hi = mid - 1;
    }
    return { ...m, time: times[lo] };
  });
  return out.sort((a, b) => a.time - b.time);
}

/** "-352.40 USD" or "1.23" → number. */
export function money(v: string | number | null | undefined): number {
  if (v === null || v === undefined) return NaN;
  if (typeof v === 'number') return v;
  return Number.parseFloat(v.trim().split(/\s+/)[0]);
}
