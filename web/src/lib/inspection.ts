// Reading the server's component inspection (GET /v1/plugins `inspection`).

interface Source {
  definition?: string;
  definition_version?: string;
  definition_sha256?: string;
  family?: string;
  translator?: string;
}

const obj = (v: unknown): Record<string, unknown> | undefined =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;

export function manifestOf(inspection: Record<string, unknown>): Record<string, unknown> | undefined {
  return obj(inspection.manifest);
}

/** Capabilities the manifest requests. */
export function requestedCapabilities(inspection: Record<string, unknown>): string[] {
  return Object.keys(obj(manifestOf(inspection)?.capabilities) ?? {});
}

/** "translated from <definition> <version> (<family>, <translator>)", when the manifest carries it. */
export function translatedFrom(inspection: Record<string, unknown>): string | null {
  const s = obj(manifestOf(inspection)?.source) as Source | undefined;
  if (!s?.definition) return null;
  const extra = [s.family, s.translator].filter(Boolean).join(', ');
  return `${s.definition} ${s.definition_version ?? ''}${extra ? ` (${extra})` : ''}`.trim();
}

export function refusals(inspection: Record<string, unknown>): string[] {
  const r = inspection.refusals;
  return Array.isArray(r) ? r.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))) : [];
}
