// Requesting a grant for an uploaded component (POST /v1/grants {digest, reason, grant}).
import { useEffect, useState, type FormEvent } from 'react';
import { errorText } from '../../api/client';
import { api } from '../../api/endpoints';
import type { PluginView } from '../../api/types';
import { ErrorLine, Section } from '../../components/Status';
import { short } from '../../lib/format';
import { requestedCapabilities } from '../../lib/inspection';

const specFor = (p: PluginView | undefined) =>
  JSON.stringify({ capabilities: Object.fromEntries(requestedCapabilities(p?.inspection ?? {}).map((c) => [c, {}])) }, null, 2);

export function GrantRequestForm({ onRequested }: { onRequested: () => void }) {
  const [plugins, setPlugins] = useState<PluginView[]>([]);
  const [digest, setDigest] = useState('');
  const [reason, setReason] = useState('');
  const [spec, setSpec] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);

  useEffect(() => {
    api.plugins().then(setPlugins).catch((e) => setError(errorText(e)));
  }, []);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setDone(null);
    let grant: unknown;
    try {
      grant = JSON.parse(spec);
    } catch (err) {
      setError(`The grant spec is not JSON: ${errorText(err)}`);
      return;
    }
    try {
      const g = await api.requestGrant(digest, reason, grant);
      setDone(`Requested ${g.id}; an admin reviews it.`);
      onRequested();
    } catch (err) {
      setError(errorText(err));
    }
  };

  return (
    <Section title="Request a grant">
      <form onSubmit={(e) => void submit(e)} className="stack">
        <label className="field">
          Component
          <select
            value={digest}
            onChange={(e) => {
              setDigest(e.target.value);
              setSpec(specFor(plugins.find((p) => p.digest === e.target.value)));
            }}
          >
            <option value="">Choose a component</option>
            {plugins.map((p) => (
              <option key={p.digest} value={p.digest}>
                {p.name} {p.version} ({short(p.digest)})
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          Reason
          <input value={reason} onChange={(e) => setReason(e.target.value)} />
        </label>
        <label className="field">
          Grant spec (JSON: capabilities with their instruments, limits, live_venues)
          <textarea rows={8} value={spec} onChange={(e) => setSpec(e.target.value)} spellCheck={false} />
        </label>
        <button type="submit" className="primary" disabled={!digest || !reason.trim()}>
          Request grant
        </button>
      </form>
      <ErrorLine error={error} />
      {done && <p role="status">{done}</p>}
    </Section>
  );
}
