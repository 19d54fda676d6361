// A backtest report: run facts, price/equity/drawdown charts, statistics, orders, risk.
// Rendered by the console's backtest result page and by the standalone report.html.
import { useMemo } from 'react';
import { TimeChart } from '../charts/TimeChart';
import { num, utc } from '../lib/format';
import { drawdownSeries, equitySeries, priceSeries, reportTitle } from './derive';
import { OrdersTable } from './OrdersTable';
import { RiskSummary } from './RiskSummary';
import { StatsTable } from './StatsTable';
import type { Report } from './types';

const pctFormat = (v: number) => `${v.toFixed(2)} %`;

export function ReportView({ report }: { report: Report }) {
  const price = useMemo(() => priceSeries(report), [report]);
  const equity = useMemo(() => equitySeries(report), [report]);
  const dd = useMemo(() => drawdownSeries(report), [report]);
  return (
    <div className="report">
      <section className="card">
        <h2>{reportTitle(report)}</h2>
        <dl className="facts">
          <dt>Period (UTC)</dt>
          <dd>
            {utc(report.first_ts)} – {utc(report.last_ts)}
          </dd>
          <dt>Events</dt>
          <dd>{num(report.events)}</dd>
          {report.strategies.map((s) => (
            <div key={s.strategy_id} className="fact-group">
              <dt>{s.strategy_id}</dt>
              <dd>
                {s.plugin.name} {s.plugin.version}
                {s.plugin.params ? ` · ${Object.entries(s.plugin.params).map(([k, v]) => `${k}=${v}`).join(', ')}` : ''}
                {s.plugin.callbacks !== undefined ? ` · ${num(s.plugin.callbacks)} callbacks` : ''}
                {s.plugin.fuel_total !== undefined ? ` · fuel ${num(s.plugin.fuel_total)}` : ''}
                {s.plugin.fault ? ` · fault: ${JSON.stringify(s.plugin.fault)}` : ''}
              </dd>
            </div>
          ))}
        </dl>
      </section>
      <section className="card">
        <TimeChart
          testId="report-price-chart"
          label={report.prices?.length ? 'Price (close) with fills' : 'Fill prices (buy ▲ / sell ▼)'}
          series={price}
        />
        <TimeChart testId="report-equity-chart" label="Equity (account balance)" series={equity} />
        <TimeChart testId="report-drawdown-chart" label="Drawdown" series={dd} height={180} valueFormat={pctFormat} />
      </section>
      <section className="card">
        <StatsTable reports={[report]} />
      </section>
      <section className="card">
        <h3>Risk</h3>
        <RiskSummary report={report} />
      </section>
      <section className="card">
        <OrdersTable report={report} />
      </section>
    </div>
  );
}
