// One server resource loaded for a component: its data, the last error, whether a request is
// under way, and reload(). A change of `deps` names another resource: the old data is dropped
// and every answer still coming for the old deps (or after unmount) is ignored. Reloads of
// the same deps keep the data shown until the answer; an answer older than one already
// applied is ignored too.
import { useCallback, useEffect, useRef, useState, type DependencyList } from 'react';
import { errorText } from '../api/client';

export interface Resource<T> {
  data: T | null;
  error: string | null;
  loading: boolean;
  /** Fetches again; resolves when the answer is applied (or ignored). */
  reload: () => Promise<void>;
  /** A local change of the data between two loads (e.g. from a live message). */
  setData: (update: (data: T | null) => T | null) => void;
}

interface Loaded<T> {
  data: T | null;
  error: string | null;
  loading: boolean;
}

export function useResource<T>(fetcher: () => Promise<T>, deps: DependencyList): Resource<T> {
  const [state, setState] = useState<Loaded<T>>({ data: null, error: null, loading: true });
  /** Bumped on a deps change and on unmount: answers of an older epoch are stale. */
  const epoch = useRef(0);
  const issued = useRef(0);
  const applied = useRef(0);
  const pending = useRef(0);
  // The fetcher is a new closure on every render; `deps` say when it means another resource.
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const fetchNow = useCallback(fetcher, deps);

  const load = useCallback(
    async (fresh: boolean) => {
      const e = epoch.current;
      const n = ++issued.current;
      pending.current += 1;
      setState((s) => {
        if (fresh) return s.data === null && s.error === null && s.loading ? s : { data: null, error: null, loading: true };
        return s.loading ? s : { ...s, loading: true };
      });
      const outcome = await Promise.resolve()
        .then(fetchNow)
        .then(
        (data): { ok: true; data: T } => ({ ok: true, data }),
        (err: unknown): { ok: false; error: string } => ({ ok: false, error: errorText(err) }),
      );
      if (e !== epoch.current) return;
      pending.current -= 1;
      const loading = pending.current > 0;
      if (n < applied.current) {
        setState((s) => (s.loading === loading ? s : { ...s, loading }));
        return;
      }
      applied.current = n;
      if (outcome.ok) setState({ data: outcome.data, error: null, loading });
      else setState((s) => ({ data: s.data, error: outcome.error, loading }));
    },
    [fetchNow],
  );

  useEffect(() => {
    void load(true);
    return () => {
      epoch.current += 1;
      pending.current = 0;
    };
  }, [load]);

  const reload = useCallback(() => load(false), [load]);
  const setData = useCallback((update: (data: T | null) => T | null) => setState((s) => ({ ...s, data: update(s.data) })), []);
  return { ...state, reload, setData };
}
