// The whole audit trail, read in pages of GET /v1/audit?after=&limit=.
import { api } from './endpoints';
import type { AuditRecord } from './types';

const PAGE = 1000;

export async function auditAll(): Promise<AuditRecord[]> {
  const out: AuditRecord[] = [];
  let after = 0;
  for (;;) {
    const batch = await api.audit(after, PAGE);
    out.push(...batch);
    if (batch.length < PAGE) return out;
    after = batch[batch.length - 1].seq;
  }
}
