// The plugin registry (GET /v1/plugins), each plugin's full inspection in a drawer, and
// the upload of a component (POST /v1/plugins, application/wasm) for authors and admins.
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { errorText } from '../api/client';
import { api } from '../api/endpoints';
import type { PluginView } from '../api/types';
import { Badge, ErrorLine, JsonBlock, Section } from '../components/Status';
import { bytes, short, utc } from '../lib/format';
import { refusals, requestedCapabilities, translatedFrom } from '../lib/inspection';
import { can } from '../lib/roles';
import { useSession } from '../state/session';

export function StrategiesPage() {
  const session = useSession();
  const [plugins, setPlugins] = useState<PluginView[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [open, setOpen] = useState<PluginView | null>(null);

  const load = useCallback(() => {
    api
      .plugins()
      .then((p) => {
        setPlugins(p);
        setError(null);
      })
      .catch((e) => setError(errorText(e)));
  }, []);
  useEffect(load, [load]);

  const versions = (name: string) => (plugins ?? []).filter((p) => p.name === name).length;

  return (
    <>
      <h1>Strategies</h1>
      {can.upload(session.role) && <Upload onUploaded={load} />}
      <Section title="Registry">
        <ErrorLine error={error} />
        {plugins && plugins.length === 0 && <p className="muted">No plugin uploaded yet.</p>}
        {plugins && plugins.length > 0 && (
          <div className="table-wrap">
            <table className="data">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Version</th>
                  <th scope="col" className="num">Versions</th>
                  <th scope="col">Digest</th>
                  <th scope="col" className="num">Size</th>
                  <th scope="col">Uploaded by</th>
                  <th scope="col">Uploaded (UTC)</th>
                  <th scope="col">Requested capabilities</th>
                  <th scope="col">Translated from</th>
                  <th scope="col">Inspection</th>
                </tr>
              </thead>
              <tbody>
                {plugins.map((p) => (
                  <tr key={p.digest} data-testid={`plugin-row-${p.digest}`}>
                    <th scope="row">{p.name}</th>
                    <td>{p.version}</td>
                    <td className="num">{versions(p.name)}</td>
                    <td>
                      <code title={p.digest}>{short(p.digest, 16)}</code>
                    </td>
                    <td className="num">{bytes(p.size)}</td>
                    <td>{p.uploaded_by}</td>
                    <td>{utc(p.uploaded_ns)}</td>
                    <td>{requestedCapabilities(p.inspection).join(', ') || '—'}</td>
                    <td>{translatedFrom(p.inspection) ?? '—'}</td>
                    <td>
                      <button type="button" onClick={() => setOpen(p)} aria-label={`Details: inspection of ${p.name} ${p.version}`}>
                        Details
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Section>
      {open && <InspectionDrawer plugin={open} onClose={() => setOpen(null)} />}
    </>
  );
}

function InspectionDrawer({ plugin, onClose }: { plugin: PluginView; onClose: () => void }) {
  const refused = refusals(plugin.inspection);
  const accepted = plugin.inspection.accepted;
  return (
    <div className="overlay" onClick={onClose}>
      <aside
        className="drawer"
        role="dialog"
        aria-modal="true"
        aria-labelledby="drawer-title"
        onClick={(e) => e.stopPropagation()}
      >
        <header className="card-head">
          <h2 id="drawer-title">
            {plugin.name} {plugin.version}
          </h2>
          <button type="button" onClick={onClose}>
            Close
          </button>
        </header>
        <p>
          <code>{plugin.digest}</code>
        </p>
        {typeof accepted === 'boolean' && <Badge value={accepted ? 'accepted' : 'refused'} />}
        {refused.length > 0 && (
          <ul className="faults">
            {refused.map((r, i) => (
              <li key={i}>{r}</li>
            ))}
          </ul>
        )}
        <h3>Full inspection</h3>
        <JsonBlock value={plugin.inspection} />
      </aside>
    </div>
  );
}

function Upload({ onUploaded }: { onUploaded: () => void }) {
  const [file, setFile] = useState<File | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!file) return;
    setBusy(true);
    setError(null);
    setDone(null);
    try {
      const p = await api.uploadPlugin(await file.arrayBuffer());
      setDone(`Uploaded ${p.name} ${p.version} (${short(p.digest, 16)}).`);
      onUploaded();
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Section title="Upload a component">
      <form onSubmit={(e) => void submit(e)} className="row">
        <label className="field">
          WebAssembly component (.wasm)
          <input
            type="file"
            accept=".wasm,application/wasm"
            data-testid="upload-input"
            onChange={(e) => setFile(e.target.files?.[0] ?? null)}
          />
        </label>
        <button type="submit" className="primary" data-testid="upload-submit" disabled={busy || !file}>
          Upload
        </button>
      </form>
      <ErrorLine error={error} />
      {done && <p role="status">{done}</p>}
    </Section>
  );
}
