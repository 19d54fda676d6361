// Requesting a grant for an uploaded component (POST /v1/grants {digest, reason, grant}).
import { useState } from 'react';
import { errorText } from '../../api/client';
import { api } from '../../api/endpoints';
import type { PluginView } from '../../api/types';
import { PluginOptions } from '../../components/PluginOptions';
import { ErrorLine, Section } from '../../components/Status';
import { requestedCapabilities } from '../../lib/inspection';
import { useResource } from '../../state/useResource';
import { useSubmit } from '../../state/useSubmit';

const specFor = (p: PluginView | undefined) =>
  JSON.stringify({ capabilities: Object.fromEntries(requestedCapabilities(p?.inspection ?? {}).map((c) => [c, {}])) }, null, 2);

export function GrantRequestForm({ onRequested }: { onRequested: () => void }) {
  const plugins = useResource(() => api.plugins(), []);
  const [digest, setDigest] = useState('');
  const [reason, setReason] = useState('');
  const [spec, setSpec] = useState('');

  const submit = useSubmit(async () => {
    let grant: unknown;
    try {
      grant = JSON.parse(spec);
    } catch (err) {
      throw new Error(`The grant spec is not JSON: ${errorText(err)}`);
    }
    const g = await api.requestGrant(digest, reason, grant);
    onRequested();
    return g;
  });

  return (
    <Section title="Request a grant">
      <form onSubmit={submit.onSubmit} className="stack">
        <label className="field">
          Component
          <select
            value={digest}
            onChange={(e) => {
              setDigest(e.target.value);
              setSpec(specFor(plugins.data?.find((p) => p.digest === e.target.value)));
            }}
          >
            <PluginOptions plugins={plugins.data ?? []} placeholder="Choose a component" />
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
        <button type="submit" className="primary" disabled={submit.busy || !digest || !reason.trim()}>
          Request grant
        </button>
      </form>
      <ErrorLine error={plugins.error} />
      <ErrorLine error={submit.error} />
      {submit.result && <p role="status">Requested {submit.result.id}; an admin reviews it.</p>}
    </Section>
  );
}
