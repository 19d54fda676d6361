// A grant diff as a readable change list; widening changes are flagged.
import type { GrantChange } from '../api/types';

export function GrantChanges({ changes, emptyText = 'No change from the previous approved grant.' }: { changes: GrantChange[]; emptyText?: string }) {
  if (changes.length === 0) return <p className="muted">{emptyText}</p>;
  return (
    <ul className="changes">
      {changes.map((c, i) => (
        <li key={i} className={c.widens ? 'widens' : 'narrows'}>
          <strong>{c.widens ? 'Widens' : 'Narrows'}:</strong> {c.capability ? `${c.capability} ` : ''}
          {c.what === 'capability' ? '' : c.what} {c.from} → {c.to}
        </li>
      ))}
    </ul>
  );
}
