// Entry of the standalone report.html: the report JSON is in the report-data element
// (filled by the stratbox report writer; still the build placeholder when opened unfilled).
import { createRoot } from 'react-dom/client';
import { ReportView } from './report/ReportView';
import { reportTitle } from './report/derive';
import type { Report } from './report/types';
import './styles.css';

function readReport(): Report | null {
  const text = document.getElementById('report-data')?.textContent?.trim() ?? '';
  if (text === '' || text.startsWith('/*')) return null;
  return JSON.parse(text) as Report | null;
}

const root = createRoot(document.getElementById('root')!);
try {
  const report = readReport();
  if (report) document.title = `stratbox backtest: ${reportTitle(report)}`;
  root.render(
    <main className="standalone">
      <h1>stratbox backtest report</h1>
      {report ? <ReportView report={report} /> : <p className="error">This file holds no report data.</p>}
      <footer className="muted">
        Times are UTC. Charts: TradingView Lightweight Charts™ (https://www.tradingview.com/).
      </footer>
    </main>,
  );
} catch (e) {
  root.render(<p className="error">The report data cannot be read: {String(e)}</p>);
}
