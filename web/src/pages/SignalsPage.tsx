// Signals: operators post one (POST /v1/signals, docs/signals.md schema); everyone sees the
// recent signals and where each went (GET /v1/signals), the dead letters (GET
// /v1/signals/dead-letters), every consumer's circuit breaker (GET /v1/signals/breakers)
// and each deployment's signals_received from its latest progress event. The three lists
// are read again after a post and, throttled, when a `signal-delivery` event arrives.
import { Fragment, useCallback, useEffect, useState } from 'react';
import { api } from '../api/endpoints';
import type { Breaker, DeadLetter, SignalConsumer, SignalRecord } from '../api/types';
import { OlderPager } from '../components/Pager';
import { Badge, ErrorLine, JsonBlock, Section } from '../components/Status';
import { num, utc } from '../lib/format';
import { can } from '../lib/roles';
import { href } from '../lib/route';
import { live } from '../state/live';
import { useSession } from '../state/session';
import { useLive } from '../state/useLive';
import { useOlderPages, type OlderPages } from '../state/useOlderPages';
import { useResource, type Resource } from '../state/useResource';
import { useSubmit } from '../state/useSubmit';

const TYPES = ['REGIME_PREDICTION', 'CORRELATION_SHIFT', 'SENTIMENT', 'VOLATILITY_FORECAST'];
const PAGE = 50;
/** At most one reload of the lists per this many ms while deliveries stream in. */
const LIVE_RELOAD_MS = 500;

function parseValue(text: string): unknown {
  const t = text.trim();
  if (t.startsWith('{')) return JSON.parse(t) as unknown;
  const n = Number(t);
  return t !== '' && Number.isFinite(n) ? n : t;
}

function SignalForm({ onPosted }: { onPosted: () => void }) {
  const [signalId, setSignalId] = useState('');
  const [type, setType] = useState(TYPES[0]);
  const [instrument, setInstrument] = useState('');
  const [confidence, setConfidence] = useState('0.5');
  const [value, setValue] = useState('');
  const [model, setModel] = useState('');

  const submit = useSubmit(async () => {
    const signal = {
      signal_id: signalId.trim(),
      signal_type: type,
      instrument_id: instrument.trim(),
      timestamp: Date.now() * 1e6,
      confidence: Number(confidence),
      value: parseValue(value),
      source_model: model.trim(),
    };
    const outcome = await api.postSignals(signal);
    onPosted();
    return outcome;
  });
  const outcome = submit.result;

  return (
    <Section title="Post a signal">
      <form onSubmit={submit.onSubmit} className="form-grid">
        <label className="field">
          Signal id
          <input data-testid="signal-id" value={signalId} onChange={(e) => setSignalId(e.target.value)} />
        </label>
        <label className="field">
          Type
          <select data-testid="signal-type" value={type} onChange={(e) => setType(e.target.value)}>
            {TYPES.map((t) => (
              <option key={t}>{t}</option>
            ))}
          </select>
        </label>
        <label className="field">
          Instrument
          <input
            data-testid="signal-instrument"
            value={instrument}
            onChange={(e) => setInstrument(e.target.value)}
            placeholder="GBP/USD.FXCM"
          />
        </label>
        <label className="field">
          Confidence (0–1)
          <input
            data-testid="signal-confidence"
            type="number"
            min="0"
            max="1"
            step="0.01"
            value={confidence}
            onChange={(e) => setConfidence(e.target.value)}
          />
        </label>
        <label className="field">
          Value (number, text or a JSON map)
          <input data-testid="signal-value" value={value} onChange={(e) => setValue(e.target.value)} />
        </label>
        <label className="field">
          Source model
          <input data-testid="signal-model" value={model} onChange={(e) => setModel(e.target.value)} />
        </label>
        <div className="wide">
          <button
            type="submit"
            className="primary"
            data-testid="signal-submit"
            disabled={submit.busy || !signalId.trim() || !instrument.trim() || !model.trim()}
          >
            Post signal (timestamped now)
          </button>
        </div>
      </form>
      <ErrorLine error={submit.error} />
      {outcome && (
        <div role="status" data-testid="signal-outcome">
          <p>
            Accepted {outcome.accepted}, handed to {outcome.deployments} running deployment(s), refused {outcome.refused.length}.
          </p>
          {outcome.refused.length > 0 && <JsonBlock value={outcome.refused} />}
        </div>
      )}
    </Section>
  );
}

/** Deployment ids as links to their pages, comma-separated. */
function DeploymentLinks({ ids }: { ids: string[] }) {
  return (
    <>
      {ids.map((id, i) => (
        <Fragment key={id}>
          {i > 0 && ', '}
          <a href={href('deployments', id)}>{id}</a>
        </Fragment>
      ))}
    </>
  );
}

function RecentSignals({ pages }: { pages: OlderPages<SignalRecord> }) {
  const rows = pages.data;
  return (
    <Section
      title="Recent signals"
      actions={
        <button type="button" onClick={pages.latest}>
          Refresh
        </button>
      }
    >
      <ErrorLine error={pages.error} />
      {rows && rows.length === 0 && (
        <p className="muted" data-testid="recent-signals-empty">
          {pages.newest ? 'No signal posted yet.' : 'No older signal.'}
        </p>
      )}
      {rows && rows.length > 0 && (
        <div className="table-wrap">
          <table className="data" data-testid="recent-signals">
            <caption>Posted signals, newest first, and the running deployments each went to</caption>
            <thead>
              <tr>
                <th scope="col" className="num">Seq</th>
                <th scope="col">Received (UTC)</th>
                <th scope="col">Signal id</th>
                <th scope="col">Type</th>
                <th scope="col">Instrument</th>
                <th scope="col">Source</th>
                <th scope="col">Result</th>
                <th scope="col">Handed to</th>
                <th scope="col">Skipped</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.seq} data-testid="signal-row" data-seq={r.seq}>
                  <td className="num">{r.seq}</td>
                  <td>
                    {utc(r.received_ns)}
                    <br />
                    <span className="muted">by {r.actor}</span>
                  </td>
                  <th scope="row" data-testid="signal-row-id">
                    {r.signal_id ?? '—'}
                  </th>
                  <td>{r.signal_type ?? '—'}</td>
                  <td>{r.instrument_id ?? '—'}</td>
                  <td>{r.source_model ?? '—'}</td>
                  <td data-testid="signal-result">
                    <Badge value={r.accepted ? 'accepted' : 'refused'} />
                    {r.reason && <span className="prewrap"> {r.reason}</span>}
                  </td>
                  <td data-testid="signal-handed-to">
                    {r.handed_to.length}
                    {r.handed_to.length > 0 && ': '}
                    <DeploymentLinks ids={r.handed_to} />
                  </td>
                  <td>
                    {r.skipped.length === 0 ? (
                      '—'
                    ) : (
                      <ul className="plain">
                        {r.skipped.map((s) => (
                          <li key={s.deployment}>
                            <a href={href('deployments', s.deployment)}>{s.deployment}</a>: {s.reason}
                          </li>
                        ))}
                      </ul>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <OlderPager label="Recent signals" testId="recent-signals" pages={pages} />
    </Section>
  );
}

function DeadLetters({ pages }: { pages: OlderPages<DeadLetter> }) {
  const rows = pages.data;
  return (
    <Section title="Dead letters">
      <ErrorLine error={pages.error} />
      {rows && rows.length === 0 && (
        <p className="muted" data-testid="dead-letters-empty">
          {pages.newest ? 'No dead letters.' : 'No older dead letter.'}
        </p>
      )}
      {rows && rows.length > 0 && (
        <div className="table-wrap">
          <table className="data" data-testid="dead-letters">
            <caption>Signals a running deployment should have received and did not, newest first</caption>
            <thead>
              <tr>
                <th scope="col" className="num">Seq</th>
                <th scope="col">Time (UTC)</th>
                <th scope="col">Deployment</th>
                <th scope="col">Plugin</th>
                <th scope="col">Signal id</th>
                <th scope="col">Stage</th>
                <th scope="col">Reason</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.seq} data-testid="dead-letter-row" data-seq={r.seq}>
                  <td className="num">{r.seq}</td>
                  <td>{utc(r.ts_ns)}</td>
                  <td>
                    <a href={href('deployments', r.deployment)}>{r.deployment}</a>
                  </td>
                  <td>{r.plugin}</td>
                  <th scope="row">{r.signal_id}</th>
                  <td>{r.stage}</td>
                  <td className="prewrap">{r.reason}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <OlderPager label="Dead letters" testId="dead-letters" pages={pages} />
    </Section>
  );
}

function BreakerState({ breaker }: { breaker: Breaker }) {
  switch (breaker.state) {
    case 'closed':
      return (
        <>
          <Badge value="closed" testId="breaker-state" />{' '}
          {breaker.failures === 1 ? '1 failure' : `${num(breaker.failures)} failures`}
        </>
      );
    case 'open':
      return (
        <>
          <Badge value="open" testId="breaker-state" /> until {utc(breaker.until_ns)}
        </>
      );
    default:
      return <Badge value="half-open" testId="breaker-state" />;
  }
}

function Consumers({ consumers }: { consumers: Resource<SignalConsumer[]> }) {
  const rows = consumers.data;
  return (
    <Section title="Consumers and breakers">
      <ErrorLine error={consumers.error} />
      {rows && rows.length === 0 && (
        <p className="muted" data-testid="signal-consumers-empty">
          No deployment.
        </p>
      )}
      {rows && rows.length > 0 && (
        <div className="table-wrap">
          <table className="data" data-testid="signal-consumers">
            <caption>Every deployment as a signal consumer: its circuit breaker and deliveries</caption>
            <thead>
              <tr>
                <th scope="col">Deployment</th>
                <th scope="col">Plugin</th>
                <th scope="col">Status</th>
                <th scope="col">Breaker</th>
                <th scope="col" className="num">Delivered</th>
                <th scope="col" className="num">Failed</th>
                <th scope="col" className="num">Skipped while open</th>
                <th scope="col">Last failure</th>
                <th scope="col">Changed (UTC)</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((c) => (
                <tr key={c.deployment} data-testid={`consumer-row-${c.deployment}`}>
                  <th scope="row">
                    <a href={href('deployments', c.deployment)}>{c.deployment}</a>
                  </th>
                  <td>{c.plugin}</td>
                  <td>
                    <Badge value={c.status} />
                  </td>
                  <td>
                    <BreakerState breaker={c.breaker} />
                  </td>
                  <td className="num">{num(c.delivered)}</td>
                  <td className="num">{num(c.failed)}</td>
                  <td className="num">{num(c.skipped_open)}</td>
                  <td className="prewrap">{c.last_failure ?? '—'}</td>
                  <td>{utc(c.changed_ns)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Section>
  );
}

export function SignalsPage() {
  const session = useSession();
  const store = useLive();
  const signals = useOlderPages(api.signals, PAGE);
  const deadLetters = useOlderPages(api.deadLetters, PAGE);
  const consumers = useResource(() => api.breakers(), []);
  const rows = [...store.deployments.values()];

  const { latest: latestSignals, reload: reloadSignals } = signals;
  const { latest: latestDead, reload: reloadDead } = deadLetters;
  const reloadConsumers = consumers.reload;

  const posted = () => {
    latestSignals();
    latestDead();
    void reloadConsumers();
  };

  // Deliveries change the breakers and may add dead letters (and the intake log, when
  // signals are posted by others): read them again, at most every LIVE_RELOAD_MS.
  const delivered = useCallback(() => {
    void reloadSignals();
    void reloadDead();
    void reloadConsumers();
  }, [reloadSignals, reloadDead, reloadConsumers]);
  useEffect(() => {
    let timer: number | undefined;
    const off = live.onEvent((e) => {
      if (e.event.kind !== 'signal-delivery' || timer !== undefined) return;
      timer = window.setTimeout(() => {
        timer = undefined;
        delivered();
      }, LIVE_RELOAD_MS);
    });
    return () => {
      off();
      window.clearTimeout(timer);
    };
  }, [delivered]);

  return (
    <>
      <h1>Signals</h1>
      {can.operate(session.role) && <SignalForm onPosted={posted} />}
      <RecentSignals pages={signals} />
      <DeadLetters pages={deadLetters} />
      <Consumers consumers={consumers} />
      <Section title="Signals received per deployment">
        {rows.length === 0 ? (
          <p className="muted">No deployment.</p>
        ) : (
          <table className="data" data-testid="signals-table">
            <thead>
              <tr>
                <th scope="col">Deployment</th>
                <th scope="col">Plugin</th>
                <th scope="col">Status</th>
                <th scope="col" className="num">Signals received</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((d) => {
                const received = store.live.get(d.id)?.progress?.signals_received ?? d.figures?.signals_received;
                return (
                  <tr key={d.id}>
                    <th scope="row">
                      <a href={href('deployments', d.id)}>{d.id}</a>
                    </th>
                    <td>{d.plugin}</td>
                    <td>{d.status}</td>
                    <td className="num">{num(received)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </Section>
    </>
  );
}
