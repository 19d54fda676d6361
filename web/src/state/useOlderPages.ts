// A newest-first list read in pages of `limit` with `before=<seq>` (GET /v1/signals,
// /v1/signals/dead-letters): the newest page first, then older ones on demand.
import { useState } from 'react';
import { useResource, type Resource } from './useResource';

export interface OlderPages<T> extends Resource<T[]> {
  /** The page shown is the newest one. */
  newest: boolean;
  /** A full page: there may be older entries. */
  hasOlder: boolean;
  older: () => void;
  newer: () => void;
  /** Back to the newest page, or reloads it when it is shown. */
  latest: () => void;
}

export function useOlderPages<T extends { seq: number }>(
  fetch: (limit: number, before?: number) => Promise<T[]>,
  limit: number,
): OlderPages<T> {
  /** The `before` of every page opened after the newest one. */
  const [cursors, setCursors] = useState<number[]>([]);
  const before = cursors.at(-1);
  const page = useResource(() => fetch(limit, before), [before, limit]);
  const rows = page.data;
  return {
    ...page,
    newest: cursors.length === 0,
    hasOlder: (rows?.length ?? 0) >= limit,
    older: () => {
      if (rows && rows.length > 0) setCursors((c) => [...c, rows[rows.length - 1].seq]);
    },
    newer: () => setCursors((c) => c.slice(0, -1)),
    latest: () => {
      if (cursors.length === 0) void page.reload();
      else setCursors([]);
    },
  };
}
