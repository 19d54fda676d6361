// The plugin registry (GET /v1/plugins), each plugin's full inspection in a drawer, the
// upload of a component (POST /v1/plugins, application/wasm) for authors and admins, and
// the strategy definitions `stratbox translate` reported (GET /v1/translations, read-only).
// `#/strategies/<digest>` selects a registry row (the definitions link their component).
import { useEffect, useState } from 'react';
import { api } from '../api/endpoints';
import type { PluginView, TranslationView } from '../api/types';
import { Badge, ErrorLine, JsonBlock, Section } from '../components/Status';
import { bytes, short, utc } from '../lib/format';
import { refusals, requestedCapabilities, translatedFrom } from '../lib/inspection';
import { can } from '../lib/roles';
import { href } from '../lib/route';
import { useSession } from '../state/session';
import { useResource } from '../state/useResource';
import { useSubmit } from '../state/useSubmit';

const rowId = (digest: string) => `plugin-${digest}`;

export function StrategiesPage({ selected }: { selected?: string }) {
  const session = useSession();
  const { data: plugins, error, reload } = useResource(() => api.plugins(), []);
  const [open, setOpen] = useState<PluginView | null>(null);

  useEffect(() => {
    if (selected && plugins) document.getElementById(rowId(selected))?.scrollIntoView({ block: 'center' });
  }, [selected, plugins]);

  const versions = (name: string) => (plugins ?? []).filter((p) => p.name === name).length;

  return (
    <>
      <h1>Strategies</h1>
      {can.upload(session.role) && <Upload onUploaded={() => void reload()} />}
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
                  <tr
                    key={p.digest}
                    id={rowId(p.digest)}
                    data-testid={`plugin-row-${p.digest}`}
                    className={selected === p.digest ? 'selected' : undefined}
                    aria-current={selected === p.digest ? 'true' : undefined}
                  >
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
      <Definitions registered={new Set((plugins ?? []).map((p) => p.digest))} />
      {open && <InspectionDrawer plugin={open} onClose={() => setOpen(null)} />}
    </>
  );
}

/** The state of every strategy definition reported by `stratbox translate --server`. */
function Definitions({ registered }: { registered: Set<string> }) {
  const { data, error } = useResource(() => api.translations(), []);
  const rows = data ? [...data].sort((a, b) => b.updated_ns - a.updated_ns) : null;
  return (
    <Section title="Definitions">
      <ErrorLine error={error} />
      {rows && rows.length === 0 && (
        <p className="muted" data-testid="definitions-empty">
          No definitions reported. Run <code>stratbox translate --watch DIR --server URL</code> to translate definitions and
          report them here.
        </p>
      )}
      {rows && rows.length > 0 && (
        <div className="table-wrap">
          <table className="data" data-testid="definitions">
            <caption>Strategy definitions as last reported by the translator, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Definition</th>
                <th scope="col">Origin</th>
                <th scope="col">Status</th>
                <th scope="col">Version</th>
                <th scope="col">Component</th>
                <th scope="col">Error</th>
                <th scope="col">Updated (UTC)</th>
                <th scope="col">Reported by</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((t) => (
                <tr key={t.origin} data-testid="definition-row" data-origin={t.origin}>
                  <th scope="row">{t.definition_id}</th>
                  <td className="details">{t.origin}</td>
                  <td>
                    <Badge value={t.status} testId="definition-status" />
                  </td>
                  <td>{t.version ?? '—'}</td>
                  <td>
                    <ComponentDigest t={t} registered={registered} />
                  </td>
                  <td className="prewrap" data-testid="definition-error">
                    {t.error ?? '—'}
                  </td>
                  <td>{utc(t.updated_ns)}</td>
                  <td>{t.reported_by}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Section>
  );
}

function ComponentDigest({ t, registered }: { t: TranslationView; registered: Set<string> }) {
  const digest = t.component_sha256;
  if (!digest) return <>{t.plugin ?? '—'}</>;
  const code = <code title={digest}>{short(digest)}</code>;
  return (
    <>
      {t.plugin && `${t.plugin} `}
      {registered.has(digest) ? (
        <a href={href('strategies', digest)} data-testid="definition-component">
          {code}
        </a>
      ) : (
        code
      )}
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
  const submit = useSubmit(async () => {
    if (!file) throw new Error('Choose a .wasm file first.');
    const p = await api.uploadPlugin(await file.arrayBuffer());
    onUploaded();
    return p;
  });

  return (
    <Section title="Upload a component">
      <form onSubmit={submit.onSubmit} className="row">
        <label className="field">
          WebAssembly component (.wasm)
          <input
            type="file"
            accept=".wasm,application/wasm"
            data-testid="upload-input"
            onChange={(e) => setFile(e.target.files?.[0] ?? null)}
          />
        </label>
        <button type="submit" className="primary" data-testid="upload-submit" disabled={submit.busy || !file}>
          Upload
        </button>
      </form>
      <ErrorLine error={submit.error} />
      {submit.result && (
        <p role="status">
          Uploaded {submit.result.name} {submit.result.version} ({short(submit.result.digest, 16)}).
        </p>
      )}
    </Section>
  );
}
