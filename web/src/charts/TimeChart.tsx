// A lightweight-charts (v5) time chart: one or more line series on a UTC time axis,
// optional buy/sell markers on the first series.
import { useEffect, useRef } from 'react';
import {
  ColorType,
  LineSeries,
  createChart,
  createSeriesMarkers,
  type IChartApi,
  type SeriesMarker,
  type Time,
  type UTCTimestamp,
} from 'lightweight-charts';
import type { Marker, Point } from './points';

export interface ChartSeries {
  name: string;
  color: string;
  points: Point[];
  markers?: Marker[];
}

interface Props {
  series: ChartSeries[];
  testId: string;
  label: string;
  height?: number;
  valueFormat?: (v: number) => string;
}

const utcLabel = (t: Time): string => {
  const d = new Date((t as number) * 1000);
  return d.toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
};

export function TimeChart({ series, testId, label, height = 260, valueFormat }: Props) {
  const box = useRef<HTMLDivElement>(null);

  // One chart per data set: made, filled and removed together, so no series outlives (or
  // is removed from) a chart that is already gone.
  useEffect(() => {
    if (!box.current) return;
    const chart: IChartApi = createChart(box.current, {
      autoSize: true,
      layout: {
        background: { type: ColorType.Solid, color: '#ffffff' },
        textColor: '#1f2933',
        attributionLogo: false,
      },
      grid: { vertLines: { color: '#eef0f3' }, horzLines: { color: '#eef0f3' } },
      timeScale: { timeVisible: true, secondsVisible: false, borderColor: '#c5cbd3' },
      rightPriceScale: { borderColor: '#c5cbd3' },
      localization: {
        timeFormatter: utcLabel,
        ...(valueFormat ? { priceFormatter: valueFormat } : {}),
      },
    });
    for (const s of series) {
      const line = chart.addSeries(LineSeries, {
        color: s.color,
        lineWidth: 2,
        title: series.length > 1 ? s.name : '',
        priceLineVisible: false,
      });
      line.setData(s.points.map((p) => ({ time: p.time as UTCTimestamp, value: p.value })));
      if (s.markers && s.markers.length > 0) {
        const markers: SeriesMarker<Time>[] = s.markers.map((m) => ({
          time: m.time as UTCTimestamp,
          position: m.side === 'BUY' ? 'belowBar' : 'aboveBar',
          shape: m.side === 'BUY' ? 'arrowUp' : 'arrowDown',
          color: m.side === 'BUY' ? '#0b7a3b' : '#b42318',
          text: m.text,
        }));
        createSeriesMarkers(line, markers);
      }
    }
    chart.timeScale().fitContent();
    return () => chart.remove();
  }, [series, valueFormat]);

  const empty = series.every((s) => s.points.length === 0);
  return (
    <figure className="chart" data-testid={testId}>
      <figcaption>
        {label}
        {series.length > 1 && (
          <span className="legend">
            {series.map((s) => (
              <span key={s.name} className="legend-item">
                <span className="swatch" style={{ background: s.color }} aria-hidden="true" />
                {s.name}
              </span>
            ))}
          </span>
        )}
      </figcaption>
      {empty && <p className="muted">No data yet.</p>}
      <div ref={box} className="chart-box" style={{ height }} role="img" aria-label={label} />
    </figure>
  );
}
