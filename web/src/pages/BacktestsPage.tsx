// Backtests and sweeps: the start form (operator/admin), the jobs table with live
// progress (WebSocket job messages; GET every 2 s while a job runs and no message came),
// cancel, and the choice of two finished backtests to compare.
import { useEffect, useRef, useState } from 'react';
import { errorText } from '../api/client';
import { api, jobCollection } from '../api/endpoints';
import { Badge, ErrorLine, ProgressBar, Section } from '../components/Status';
import { utc } from '../lib/format';
import { can } from '../lib/roles';
import { href } from '../lib/route';
import { live } from '../state/live';
import { useSession } from '../state/session';
import { useResource } from '../state/useResource';
import { JobForm } from './backtests/JobForm';

const ACTIVE = new Set(['queued', 'running']);
const POLL_MS = 2000;

export function BacktestsPage() {
  const session = useSession();
  const {
    data: jobs,
    error,
    reload: load,
    setData: setJobs,
  } = useResource(async () => {
    const [b, s] = await Promise.all([api.jobs('backtests'), api.jobs('sweeps')]);
    return [...b, ...s].sort((x, y) => y.created_ns - x.created_ns);
  }, []);
  const [cancelError, setCancelError] = useState<string | null>(null);
  const [pick, setPick] = useState<string[]>([]);
  const lastMessage = useRef(0);

  useEffect(
    () =>
      live.onJob((m) => {
        lastMessage.current = Date.now();
        if (m.event.kind === 'job-progress') {
          const { done, total } = m.event;
          setJobs((js) => js?.map((j) => (j.id === m.job ? { ...j, status: 'running', progress: { done, total } } : j)) ?? js);
        } else {
          void load();
        }
      }),
    [load, setJobs],
  );

  const anyActive = (jobs ?? []).some((j) => ACTIVE.has(j.status));
  useEffect(() => {
    if (!anyActive) return;
    const t = window.setInterval(() => {
      if (Date.now() - lastMessage.current >= POLL_MS) void load();
    }, POLL_MS);
    return () => window.clearInterval(t);
  }, [anyActive, load]);

  const operate = can.operate(session.role);
  const toggle = (id: string) => setPick((p) => (p.includes(id) ? p.filter((x) => x !== id) : [...p.slice(-1), id]));

  return (
    <>
      <h1>Backtests and sweeps</h1>
      {operate && <JobForm onStarted={() => void load()} />}
      <Section
        title="Jobs"
        actions={
          pick.length === 2 && (
            <a className="button" href={href('backtests', 'compare', pick[0], pick[1])} data-testid="compare-link">
              Compare the two chosen runs
            </a>
          )
        }
      >
        <ErrorLine error={error} />
        <ErrorLine error={cancelError} />
        {jobs && jobs.length === 0 && <p className="muted">No job yet.</p>}
        {jobs && jobs.length > 0 && (
          <div className="table-wrap">
            <table className="data" data-testid="jobs-table">
              <thead>
                <tr>
                  <th scope="col">Compare</th>
                  <th scope="col">Job</th>
                  <th scope="col">Kind</th>
                  <th scope="col">Status</th>
                  <th scope="col">Progress</th>
                  <th scope="col">Created</th>
                  <th scope="col">Summary</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {jobs.map((j) => (
                  <tr key={j.id} data-testid={`job-row-${j.id}`}>
                    <td>
                      {j.kind === 'backtest' && j.status === 'finished' && (
                        <input
                          type="checkbox"
                          aria-label={`Compare ${j.id}`}
                          checked={pick.includes(j.id)}
                          onChange={() => toggle(j.id)}
                        />
                      )}
                    </td>
                    <th scope="row">{j.id}</th>
                    <td>{j.kind}</td>
                    <td data-testid="job-status">
                      <Badge value={j.status} />
                      {j.error && <span className="error"> {j.error}</span>}
                    </td>
                    <td>
                      <ProgressBar done={j.progress.done} total={j.progress.total} label={`Progress of ${j.id}`} />
                    </td>
                    <td>
                      {utc(j.created_ns)} by {j.created_by}
                    </td>
                    <td className="details">
                      {j.summary ? Object.entries(j.summary).map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`).join(' · ') : '—'}
                    </td>
                    <td className="actions">
                      {j.status === 'finished' && (
                        <a href={href(jobCollection(j.id), j.id)} data-testid={`job-open-${j.id}`}>
                          Open
                        </a>
                      )}
                      {operate && ACTIVE.has(j.status) && (
                        <button
                          type="button"
                          data-testid={`job-cancel-${j.id}`}
                          onClick={() => {
                            setCancelError(null);
                            void api
                              .cancelJob(jobCollection(j.id), j.id)
                              .then(load)
                              .catch((e) => setCancelError(errorText(e)));
                          }}
                        >
                          Cancel
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Section>
    </>
  );
}
