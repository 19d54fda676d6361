// Signals: operators post one (POST /v1/signals, docs/signals.md schema); everyone sees
// each deployment's signals_received from its latest progress event.
import { useState, type FormEvent } from 'react';
import { errorText } from '../api/client';
import { api } from '../api/endpoints';
import type { SignalsOutcome } from '../api/types';
import { ErrorLine, JsonBlock, Section } from '../components/Status';
import { num } from '../lib/format';
import { can } from '../lib/roles';
import { href } from '../lib/route';
import { useSession } from '../state/session';
import { useLive } from '../state/useLive';

const TYPES = ['REGIME_PREDICTION', 'CORRELATION_SHIFT', 'SENTIMENT', 'VOLATILITY_FORECAST'];

function parseValue(text: string): unknown {
  const t = text.trim();
  if (t.startsWith('{')) return JSON.parse(t) as unknown;
  const n = Number(t);
  return t !== '' && Number.isFinite(n) ? n : t;
}

function SignalForm() {
  const [signalId, setSignalId] = useState('');
  const [type, setType] = useState(TYPES[0]);
  const [instrument, setInstrument] = useState('');
  const [confidence, setConfidence] = useState('0.5');
  const [value, setValue] = useState('');
  const [model, setModel] = useState('');
  const [outcome, setOutcome] = useState<SignalsOutcome | null>(null);
  const [error, setError] = useState<string | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setOutcome(null);
    try {
      const signal = {
        signal_id: signalId.trim(),
        signal_type: type,
        instrument_id: instrument.trim(),
        timestamp: Date.now() * 1e6,
        confidence: Number(confidence),
        value: parseValue(value),
        source_model: model.trim(),
      };
      setOutcome(await api.postSignals(signal));
    } catch (err) {
      setError(errorText(err));
    }
  };

  return (
    <Section title="Post a signal">
      <form onSubmit={(e) => void submit(e)} className="form-grid">
        <label className="field">
          Signal id
          <input value={signalId} onChange={(e) => setSignalId(e.target.value)} />
        </label>
        <label className="field">
          Type
          <select value={type} onChange={(e) => setType(e.target.value)}>
            {TYPES.map((t) => (
              <option key={t}>{t}</option>
            ))}
          </select>
        </label>
        <label className="field">
          Instrument
          <input value={instrument} onChange={(e) => setInstrument(e.target.value)} placeholder="GBP/USD.FXCM" />
        </label>
        <label className="field">
          Confidence (0–1)
          <input type="number" min="0" max="1" step="0.01" value={confidence} onChange={(e) => setConfidence(e.target.value)} />
        </label>
        <label className="field">
          Value (number, text or a JSON map)
          <input value={value} onChange={(e) => setValue(e.target.value)} />
        </label>
        <label className="field">
          Source model
          <input value={model} onChange={(e) => setModel(e.target.value)} />
        </label>
        <div className="wide">
          <button type="submit" className="primary" disabled={!signalId.trim() || !instrument.trim() || !model.trim()}>
            Post signal (timestamped now)
          </button>
        </div>
      </form>
      <ErrorLine error={error} />
      {outcome && (
        <div role="status">
          <p>
            Accepted {outcome.accepted}, handed to {outcome.deployments} running deployment(s), refused {outcome.refused.length}.
          </p>
          {outcome.refused.length > 0 && <JsonBlock value={outcome.refused} />}
        </div>
      )}
    </Section>
  );
}

export function SignalsPage() {
  const session = useSession();
  const store = useLive();
  const rows = [...store.deployments.values()];
  return (
    <>
      <h1>Signals</h1>
      {can.operate(session.role) && <SignalForm />}
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
