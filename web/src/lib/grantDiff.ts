// The change list between two grant specs, computed as the server does for a grant
// request (host/src/service/grants.rs `diff`), for the hot-swap confirmation.
import type { GrantChange, GrantSpec } from '../api/types';

const listOf = (s: Record<string, unknown> | undefined, key: string): string[] => {
  const v = s?.[key];
  return Array.isArray(v) ? v.map(String) : [];
};

const sameSet = (a: string[], b: string[]) => a.length === b.length && a.every((x) => b.includes(x));

export function grantDiff(old: GrantSpec | null, next: GrantSpec): GrantChange[] {
  const out: GrantChange[] = [];
  const oc = old?.capabilities ?? {};
  const nc = next.capabilities ?? {};
  const caps = [...new Set([...Object.keys(oc), ...Object.keys(nc)])].sort();
  for (const cap of caps) {
    const a = oc[cap];
    const b = nc[cap];
    if (!a && b) out.push({ what: 'capability', capability: cap, from: 'not granted', to: 'granted', widens: true });
    else if (a && !b) out.push({ what: 'capability', capability: cap, from: 'granted', to: 'not granted', widens: false });
    else if (a && b) {
      for (const [what, key] of [
        ['instruments', 'instruments'],
        ['signal-types', 'signal_types'],
        ['source-models', 'source_models'],
      ] as const) {
        const x = listOf(a, key);
        const y = listOf(b, key);
        if (sameSet(x, y)) continue;
        const show = (s: string[]) => (s.length === 0 ? 'all the manifest requests' : [...s].sort().join(', '));
        const widens = y.length === 0 || (x.length > 0 && !y.every((v) => x.includes(v)));
        out.push({ what, capability: cap, from: show(x), to: show(y), widens });
      }
    }
  }
  for (const key of ['fuel_per_callback', 'max_memory_bytes', 'max_orders_per_callback']) {
    const a = old?.limits?.[key] ?? null;
    const b = next.limits?.[key] ?? null;
    if (a === b) continue;
    const show = (v: number | null) => (v === null ? "manifest's own" : String(v));
    const widens = a !== null && (b === null || b > a);
    out.push({ what: key, capability: null, from: show(a), to: show(b), widens });
  }
  const va = old?.live_venues ?? [];
  const vb = next.live_venues ?? [];
  if (!sameSet(va, vb)) {
    const show = (s: string[]) => (s.length === 0 ? 'paper only' : [...s].sort().join(', '));
    out.push({ what: 'live-venues', capability: null, from: show(va), to: show(vb), widens: !vb.every((v) => va.includes(v)) });
  }
  return out;
}
