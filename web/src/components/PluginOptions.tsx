// The <option>s of a registered-component choice: "name version (digest)", digest as value.
import type { PluginView } from '../api/types';
import { short } from '../lib/format';

export function PluginOptions({ plugins, placeholder }: { plugins: PluginView[]; placeholder: string }) {
  return (
    <>
      <option value="">{placeholder}</option>
      {plugins.map((p) => (
        <option key={p.digest} value={p.digest}>
          {p.name} {p.version} ({short(p.digest)})
        </option>
      ))}
    </>
  );
}
