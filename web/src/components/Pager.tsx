// Page controls for client-side paged tables, and for lists paged by the server with `before`.
interface Props {
  page: number;
  pages: number;
  total: number;
  onPage: (page: number) => void;
  label: string;
}

export function Pager({ page, pages, total, onPage, label }: Props) {
  if (pages <= 1) return <p className="muted">{total.toLocaleString('en-US')} rows</p>;
  return (
    <nav className="pager" aria-label={`${label} pages`}>
      <button type="button" onClick={() => onPage(0)} disabled={page === 0}>
        First
      </button>
      <button type="button" onClick={() => onPage(page - 1)} disabled={page === 0}>
        Previous
      </button>
      <span>
        Page {page + 1} of {pages} ({total.toLocaleString('en-US')} rows)
      </span>
      <button type="button" onClick={() => onPage(page + 1)} disabled={page >= pages - 1}>
        Next
      </button>
      <button type="button" onClick={() => onPage(pages - 1)} disabled={page >= pages - 1}>
        Last
      </button>
    </nav>
  );
}

export function paged<T>(rows: T[], page: number, size: number): { slice: T[]; pages: number; page: number } {
  const pages = Math.max(1, Math.ceil(rows.length / size));
  const p = Math.min(page, pages - 1);
  return { slice: rows.slice(p * size, (p + 1) * size), pages, page: p };
}

/** Page controls of a newest-first list read with `before` (state/useOlderPages.ts). */
export function OlderPager({
  label,
  testId,
  pages,
}: {
  label: string;
  testId: string;
  pages: { newest: boolean; hasOlder: boolean; older: () => void; newer: () => void; latest: () => void };
}) {
  if (pages.newest && !pages.hasOlder) return null;
  return (
    <nav className="pager" aria-label={`${label} pages`}>
      <button type="button" onClick={pages.latest} disabled={pages.newest}>
        Newest
      </button>
      <button type="button" onClick={pages.newer} disabled={pages.newest}>
        Newer
      </button>
      <button type="button" data-testid={`${testId}-older`} onClick={pages.older} disabled={!pages.hasOlder}>
        Older
      </button>
    </nav>
  );
}
