// Capability grants (GET /v1/grants): pending requests first with their change list and
// spec, approve/reject with a note (admin), the decided history; authors request grants.
import { useState } from 'react';
import { api } from '../api/endpoints';
import type { GrantView } from '../api/types';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { GrantChanges } from '../components/GrantChanges';
import { Badge, ErrorLine, JsonBlock, Section } from '../components/Status';
import { short, utc } from '../lib/format';
import { can } from '../lib/roles';
import { useSession } from '../state/session';
import { useResource } from '../state/useResource';
import { GrantRequestForm } from './grants/GrantRequestForm';

export function GrantsPage() {
  const session = useSession();
  const { data: grants, error, reload } = useResource(() => api.grants(), []);
  const [decide, setDecide] = useState<{ grant: GrantView; decision: 'approve' | 'reject' } | null>(null);

  const pending = (grants ?? []).filter((g) => g.status === 'pending');
  const decided = (grants ?? []).filter((g) => g.status !== 'pending').sort((a, b) => (b.decided_ns ?? 0) - (a.decided_ns ?? 0));
  const admin = can.decideGrant(session.role);

  return (
    <>
      <h1>Grants</h1>
      <ErrorLine error={error} />
      {can.requestGrant(session.role) && <GrantRequestForm onRequested={() => void reload()} />}
      <Section title={`Pending (${pending.length})`}>
        {pending.length === 0 && <p className="muted">No pending request.</p>}
        {pending.map((g) => (
          <article key={g.id} className="grant" data-testid={`grant-row-${g.id}`}>
            <header className="card-head">
              <h3>
                {g.id}: {g.plugin} <code>{short(g.digest)}</code>
              </h3>
              <Badge value={g.status} testId={`grant-status-${g.id}`} />
            </header>
            <p>
              Requested by {g.requested_by} at {utc(g.requested_ns)}: “{g.reason}”
            </p>
            <h4>Changes against the previous approved grant</h4>
            <GrantChanges changes={g.diff} />
            <details>
              <summary>Requested spec</summary>
              <JsonBlock value={g.spec} />
            </details>
            {admin && (
              <div className="actions">
                <button type="button" className="primary" data-testid={`approve-${g.id}`} onClick={() => setDecide({ grant: g, decision: 'approve' })}>
                  Approve
                </button>
                <button type="button" className="danger" data-testid={`reject-${g.id}`} onClick={() => setDecide({ grant: g, decision: 'reject' })}>
                  Reject
                </button>
              </div>
            )}
          </article>
        ))}
      </Section>
      <Section title="Decided">
        {decided.length === 0 ? (
          <p className="muted">No decided grant.</p>
        ) : (
          <div className="table-wrap">
            <table className="data">
              <thead>
                <tr>
                  <th scope="col">Grant</th>
                  <th scope="col">Plugin</th>
                  <th scope="col">Status</th>
                  <th scope="col">Reason</th>
                  <th scope="col">Requested by</th>
                  <th scope="col">Decided by</th>
                  <th scope="col">Decided (UTC)</th>
                  <th scope="col">Note</th>
                  <th scope="col">Changes</th>
                </tr>
              </thead>
              <tbody>
                {decided.map((g) => (
                  <tr key={g.id} data-testid={`grant-row-${g.id}`}>
                    <th scope="row">{g.id}</th>
                    <td>
                      {g.plugin} <code>{short(g.digest)}</code>
                    </td>
                    <td>
                      <Badge value={g.status} testId={`grant-status-${g.id}`} />
                    </td>
                    <td>{g.reason}</td>
                    <td>{g.requested_by}</td>
                    <td>{g.decided_by ?? '—'}</td>
                    <td>{utc(g.decided_ns)}</td>
                    <td>{g.decision_note ?? '—'}</td>
                    <td>
                      <GrantChanges changes={g.diff} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Section>
      {decide && (
        <ConfirmDialog
          title={`${decide.decision === 'approve' ? 'Approve' : 'Reject'} ${decide.grant.id} (${decide.grant.plugin})?`}
          confirmLabel={decide.decision === 'approve' ? 'Approve' : 'Reject'}
          danger={decide.decision === 'reject'}
          reasonLabel="Note"
          reasonTestId="note-input"
          requireReason={false}
          onClose={() => setDecide(null)}
          onConfirm={async (note) => {
            await api.decideGrant(decide.grant.id, decide.decision, note);
            void reload();
          }}
        >
          <GrantChanges changes={decide.grant.diff} />
        </ConfirmDialog>
      )}
    </>
  );
}
