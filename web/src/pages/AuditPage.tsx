// The audit trail (GET /v1/audit, paged with after/limit), filters on the loaded page,
// the chain status (GET /v1/audit/verify) and the export of the filtered records.
import { useState } from 'react';
import { api } from '../api/endpoints';
import { AuditTable } from '../components/AuditTable';
import { ErrorLine, Section } from '../components/Status';
import { num } from '../lib/format';
import { downloadJson } from '../lib/download';
import { useResource } from '../state/useResource';

const LIMIT = 100;

function checkpointText(c: unknown): string {
  if (c === null || c === undefined) return 'none yet';
  if (typeof c === 'number') return `at record ${c}`;
  if (typeof c !== 'object') return String(c);
  const o = c as Record<string, unknown>;
  const seq = o.seq ?? o.record ?? o.records;
  return seq !== undefined ? `at record ${String(seq)}` : JSON.stringify(c);
}

export function AuditPage() {
  const [cursors, setCursors] = useState<number[]>([0]);
  const [action, setAction] = useState('');
  const [actor, setActor] = useState('');
  const [text, setText] = useState('');
  const after = cursors[cursors.length - 1];
  const page = useResource(() => api.audit(after, LIMIT), [after]);
  const records = page.data ?? [];
  const error = page.error;
  const chain = useResource(() => api.auditVerify(), []);

  const actions = [...new Set(records.map((r) => r.action))].sort();
  const needle = text.trim().toLowerCase();
  const shown = records.filter(
    (r) =>
      (!action || r.action === action) &&
      (!actor.trim() || r.actor.toLowerCase().includes(actor.trim().toLowerCase())) &&
      (!needle || `${r.subject} ${JSON.stringify(r.details)}`.toLowerCase().includes(needle)),
  );

  return (
    <>
      <h1>Audit trail</h1>
      <Section title="Chain">
        <p data-testid="chain-status" className={chain.error ? 'error' : ''}>
          {!chain.data && !chain.error && 'Verifying…'}
          {chain.data &&
            `valid: ${num(chain.data.records)} records, newest signed checkpoint ${checkpointText(chain.data.newest_checkpoint)}`}
          {chain.error && `broken: ${chain.error}`}
        </p>
      </Section>
      <Section
        title="Records"
        actions={
          <button type="button" data-testid="audit-export" onClick={() => downloadJson(`audit-after-${after}.json`, shown)}>
            Export shown records (JSON)
          </button>
        }
      >
        <div className="row">
          <label className="field">
            Action
            <select data-testid="audit-filter-action" value={action} onChange={(e) => setAction(e.target.value)}>
              <option value="">all</option>
              {actions.map((a) => (
                <option key={a}>{a}</option>
              ))}
            </select>
          </label>
          <label className="field">
            Actor
            <input value={actor} onChange={(e) => setActor(e.target.value)} />
          </label>
          <label className="field">
            Text in subject or details
            <input value={text} onChange={(e) => setText(e.target.value)} />
          </label>
        </div>
        <ErrorLine error={error} />
        <AuditTable records={shown} caption={`Records after ${after} (${shown.length} of ${records.length} on this page)`} />
        <nav className="pager" aria-label="Audit pages">
          <button type="button" disabled={cursors.length <= 1} onClick={() => setCursors((c) => c.slice(0, -1))}>
            Previous
          </button>
          <button
            type="button"
            data-testid="audit-next"
            disabled={records.length < LIMIT}
            onClick={() => setCursors((c) => [...c, records[records.length - 1].seq])}
          >
            Next
          </button>
        </nav>
      </Section>
    </>
  );
}
