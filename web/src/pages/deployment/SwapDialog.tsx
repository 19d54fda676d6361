// Hot-swap: pick another registered version of the same plugin and an approved grant for
// it; the grant's changes against the running grant are shown before confirming.
import { useMemo, useState } from 'react';
import { api } from '../../api/endpoints';
import type { DeploymentView } from '../../api/types';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { GrantChanges } from '../../components/GrantChanges';
import { ErrorLine } from '../../components/Status';
import { grantDiff } from '../../lib/grantDiff';
import { short } from '../../lib/format';
import { useResource } from '../../state/useResource';

export function SwapDialog({ deployment, onClose, onDone }: { deployment: DeploymentView; onClose: () => void; onDone: () => void }) {
  const { data, error } = useResource(() => Promise.all([api.plugins(), api.grants()]), []);
  const [plugins, grants] = data ?? [[], []];
  const [digest, setDigest] = useState('');
  const [grantId, setGrantId] = useState('');

  const versions = plugins.filter((p) => p.name === deployment.plugin && p.digest !== deployment.digest);
  const usable = grants.filter((g) => g.status === 'approved' && g.digest === digest);
  const current = grants.find((g) => g.id === deployment.grant) ?? null;
  const chosen = usable.find((g) => g.id === grantId) ?? null;
  const changes = useMemo(() => (chosen ? grantDiff(current?.spec ?? null, chosen.spec) : []), [chosen, current]);

  return (
    <ConfirmDialog
      title={`Hot-swap ${deployment.id}`}
      confirmLabel="Swap"
      disabled={!digest || !grantId}
      onClose={onClose}
      onConfirm={async () => {
        await api.swap(deployment.id, digest, grantId);
        onDone();
      }}
    >
      <ErrorLine error={error} />
      <label className="field">
        Version of {deployment.plugin}
        <select
          data-testid="swap-version"
          value={digest}
          onChange={(e) => {
            setDigest(e.target.value);
            setGrantId('');
          }}
        >
          <option value="">Choose a version</option>
          {versions.map((p) => (
            <option key={p.digest} value={p.digest}>
              {p.version} ({short(p.digest)})
            </option>
          ))}
        </select>
      </label>
      {versions.length === 0 && <p className="muted">No other version of {deployment.plugin} is registered.</p>}
      {digest && (
        <label className="field">
          Approved grant
          <select data-testid="swap-grant" value={grantId} onChange={(e) => setGrantId(e.target.value)}>
            <option value="">Choose a grant</option>
            {usable.map((g) => (
              <option key={g.id} value={g.id}>
                {g.id} — {g.reason}
              </option>
            ))}
          </select>
        </label>
      )}
      {digest && usable.length === 0 && <p className="muted">This version has no approved grant: request one first.</p>}
      {chosen && (
        <div>
          <h3>Grant changes against the running grant {current ? current.id : deployment.grant}</h3>
          <GrantChanges changes={changes} emptyText="The same capabilities and limits as the running grant." />
        </div>
      )}
    </ConfirmDialog>
  );
}
