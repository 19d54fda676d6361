// A finished backtest: the same report view as report.html (GET /v1/backtests/{id}/report)
// and the download of its self-contained report.html.
import { api } from '../api/endpoints';
import { ErrorLine } from '../components/Status';
import { href } from '../lib/route';
import { ReportView } from '../report/ReportView';
import { useResource } from '../state/useResource';

export function BacktestResultPage({ id }: { id: string }) {
  const { data, error } = useResource(async () => {
    const job = await api.job('backtests', id);
    return { job, report: job.status === 'finished' ? await api.report(id) : null };
  }, [id]);
  const job = data?.job;
  const report = data?.report;

  return (
    <>
      <p>
        <a href={href('backtests')}>← Backtests</a>
      </p>
      <h1>Backtest {id}</h1>
      <ErrorLine error={error} />
      {job && job.status !== 'finished' && (
        <p>
          This backtest is {job.status}
          {job.error ? `: ${job.error}` : ''}; its report is there once it has finished.
        </p>
      )}
      {report && (
        <>
          <p>
            <a className="button" href={api.reportHtmlUrl(id)} download={`${id}-report.html`} data-testid="report-download">
              Download report.html
            </a>
          </p>
          <ReportView report={report} />
        </>
      )}
    </>
  );
}
