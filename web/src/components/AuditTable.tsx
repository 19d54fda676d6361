// Audit records as a table (rows `audit-row`).
import type { AuditRecord } from '../api/types';
import { utc } from '../lib/format';

export function AuditTable({ records, caption }: { records: AuditRecord[]; caption: string }) {
  return (
    <div className="table-wrap">
      <table className="data" data-testid="audit-table">
        <caption>{caption}</caption>
        <thead>
          <tr>
            <th scope="col" className="num">Seq</th>
            <th scope="col">Time (UTC)</th>
            <th scope="col">Actor</th>
            <th scope="col">Action</th>
            <th scope="col">Subject</th>
            <th scope="col">Details</th>
          </tr>
        </thead>
        <tbody>
          {records.map((r) => (
            <tr key={r.seq} data-testid="audit-row">
              <td className="num">{r.seq}</td>
              <td>{utc(r.ts_ns)}</td>
              <td>{r.actor}</td>
              <td>{r.action}</td>
              <td>{r.subject}</td>
              <td className="details">{JSON.stringify(r.details)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
