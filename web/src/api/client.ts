// The one fetch wrapper: same-origin cookie, X-CSRF-Token on every non-GET request, and the
// server's JSON error turned into an ApiError carrying its `message`.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

let csrfToken: string | null = null;

export function setCsrf(token: string | null): void {
  csrfToken = token;
}

async function errorFrom(res: Response): Promise<ApiError> {
  const text = await res.text();
  try {
    const body = JSON.parse(text) as { error?: string; message?: string; details?: unknown };
    return new ApiError(res.status, body.error ?? 'error', body.message ?? `${res.status} ${res.statusText}`, body.details);
  } catch {
    return new ApiError(res.status, 'error', text.trim() || `${res.status} ${res.statusText}`);
  }
}

export interface RequestOptions {
  body?: unknown;
  raw?: Blob | ArrayBuffer;
  contentType?: string;
}

export async function request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  let body: BodyInit | undefined;
  if (opts.raw !== undefined) {
    body = opts.raw;
    headers['Content-Type'] = opts.contentType ?? 'application/octet-stream';
  } else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['Content-Type'] = 'application/json';
  }
  if (method !== 'GET' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  const res = await fetch(path, { method, headers, body, credentials: 'same-origin' });
  if (!res.ok) throw await errorFrom(res);
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

export const get = <T>(path: string) => request<T>('GET', path);
export const post = <T>(path: string, body?: unknown) => request<T>('POST', path, { body: body ?? {} });
export const put = <T>(path: string, body: unknown) => request<T>('PUT', path, { body });
export const del = <T>(path: string) => request<T>('DELETE', path);

export function errorText(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
