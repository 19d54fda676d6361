// Display formatting: UTC timestamps from UNIX nanoseconds, numbers, sizes.

export function utc(ns: number | null | undefined): string {
  if (ns === null || ns === undefined || ns === 0) return '—';
  const d = new Date(Math.floor(ns / 1e6));
  if (Number.isNaN(d.getTime())) return '—';
  return d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

export function num(v: unknown, digits = 4): string {
  if (v === null || v === undefined || v === '') return '—';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return String(v);
    if (Number.isInteger(v)) return v.toLocaleString('en-US');
    return v.toLocaleString('en-US', { maximumFractionDigits: digits });
  }
  return String(v);
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

export const short = (digest: string, n = 12): string => digest.slice(0, n);

/** A map of currency → amount as "a USD, b EUR". */
export function moneyMap(m: Record<string, string> | undefined): string {
  if (!m) return '—';
  const entries = Object.entries(m);
  if (entries.length === 0) return '—';
  return entries.map(([ccy, v]) => (/[A-Z]{3}$/.test(v.trim()) ? v : `${v} ${ccy}`)).join(', ');
}

export function pct(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  return `${v.toFixed(2)} %`;
}

/** A deployment's engine and where its orders go: `paper`, `live (sandbox)`, `live on BINANCE`. */
export function sessionLabel(d: { session_kind?: string | null; venue?: string | null }): string {
  if (!d.session_kind) return '—';
  if (d.session_kind === 'paper') return 'paper (BacktestEngine)';
  return d.venue ? `live on ${d.venue}` : 'live (sandbox venue)';
}
