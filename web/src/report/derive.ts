// Chart series from a report: price line (OHLC closes, or the fill prices), fill markers,
// equity and drawdown per currency.
import { drawdown, money, nsToSec, snapMarkers, uniqueByTime, type Marker, type Point } from '../charts/points';
import type { ChartSeries } from '../charts/TimeChart';
import type { Report } from './types';

export const palette = ['#1f5fbf', '#c2410c', '#0f766e', '#7c3aed', '#a16207', '#be185d'];

export function priceSeries(report: Report): ChartSeries[] {
  const fills = report.strategies.flatMap((s) => s.fills);
  const markers: Marker[] = fills.map((f) => ({
    time: nsToSec(f.ts_event),
    side: f.side === 'BUY' ? 'BUY' : 'SELL',
  }));
  if (report.prices && report.prices.length > 0) {
    const instruments = [...new Set(report.prices.map((p) => p.instrument_id))];
    return instruments.map((inst, i) => {
      const points = uniqueByTime(
        report.prices!.filter((p) => p.instrument_id === inst).map((p) => ({ time: nsToSec(p.ts), value: p.close })),
      );
      return {
        name: inst,
        color: palette[i % palette.length],
        points,
        markers: i === 0 ? snapMarkers(markers, points) : undefined,
      };
    });
  }
  const points = uniqueByTime(fills.map((f) => ({ time: nsToSec(f.ts_event), value: money(f.last_px) })));
  return [{ name: 'fill price', color: palette[0], points, markers: snapMarkers(markers, points) }];
}

export function equityByCurrency(report: Report): Map<string, Point[]> {
  const out = new Map<string, Point[]>();
  for (const e of report.equity) {
    const list = out.get(e.currency) ?? [];
    list.push({ time: nsToSec(e.ts), value: e.balance });
    out.set(e.currency, list);
  }
  for (const [ccy, list] of out) out.set(ccy, uniqueByTime(list));
  return out;
}

export function equitySeries(report: Report, label = ''): ChartSeries[] {
  return [...equityByCurrency(report)].map(([ccy, points], i) => ({
    name: label ? `${label} ${ccy}` : ccy,
    color: palette[i % palette.length],
    points,
  }));
}

export function drawdownSeries(report: Report): ChartSeries[] {
  return [...equityByCurrency(report)].map(([ccy, points], i) => ({
    name: `${ccy} drawdown %`,
    color: palette[(i + 1) % palette.length],
    points: drawdown(points),
  }));
}

export function reportTitle(report: Report): string {
  const names = report.strategies.map((s) => `${s.plugin.name} ${s.plugin.version}`).join(', ');
  return `${names || 'backtest'} on ${report.instruments.join(', ')}`;
}
