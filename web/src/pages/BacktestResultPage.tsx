// A finished backtest: the same report view as report.html (GET /v1/backtests/{id}/report)
// and the download of its self-contained report.html.
import { useEffect, useState } from 'react';
import { errorText } from '../api/client';
import { api } from '../api/endpoints';
import type { JobView } from '../api/types';
import { ErrorLine } from '../components/Status';
import { href } from '../lib/route';
import { ReportView } from '../report/ReportView';
import type { Report } from '../report/types';

export function BacktestResultPage({ id }: { id: string }) {
  const [job, setJob] = useState<JobView | null>(null);
  const [report, setReport] = useState<Report | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    setReport(null);
    api
      .job('backtests', id)
      .then((j) => {
        setJob(j);
        return j.status === 'finished' ? api.report(id).then(setReport) : undefined;
      })
      .catch((e) => setError(errorText(e)));
  }, [id]);

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
