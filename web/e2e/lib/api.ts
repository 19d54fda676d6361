// The service's HTTP API with a bearer token (what a script or the CLI would do), for
// seeding and for checking what the console did.
import fs from 'node:fs';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    what: string,
  ) {
    super(`${what}: HTTP ${status} ${typeof body === 'string' ? body : JSON.stringify(body)}`);
  }
}

export interface Reply<T = any> {
  status: number;
  body: T;
}

export class Api {
  constructor(
    readonly baseUrl: string,
    readonly token: string,
  ) {}

  /** Any status; the body parsed as JSON when it is JSON. */
  async call<T = any>(method: string, path: string, body?: unknown): Promise<Reply<T>> {
    const headers: Record<string, string> = { Authorization: `Bearer ${this.token}` };
    let payload: BodyInit | undefined;
    if (body instanceof Uint8Array) {
      headers['Content-Type'] = 'application/wasm';
      payload = body as unknown as BodyInit;
    } else if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    const resp = await fetch(this.baseUrl + path, { method, headers, body: payload });
    const text = await resp.text();
    let parsed: any = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      /* not JSON */
    }
    return { status: resp.status, body: parsed as T };
  }

  /** The body, or an error naming the request unless the status is one of `ok`. */
  async expect<T = any>(ok: number | number[], method: string, path: string, body?: unknown): Promise<T> {
    const r = await this.call<T>(method, path, body);
    const oks = Array.isArray(ok) ? ok : [ok];
    if (!oks.includes(r.status)) throw new ApiError(r.status, r.body, `${method} ${path}`);
    return r.body;
  }

  get<T = any>(path: string): Promise<T> {
    return this.expect<T>(200, 'GET', path);
  }

  async upload(file: string): Promise<string> {
    const up = await this.expect(201, 'POST', '/v1/plugins', new Uint8Array(fs.readFileSync(file)));
    return up.digest as string;
  }

  /** Every stored event of a deployment, paged with `after`. */
  async events(deployment: string): Promise<Array<{ deployment: string; seq: number; event: any }>> {
    const all: Array<{ deployment: string; seq: number; event: any }> = [];
    let after = 0;
    for (;;) {
      const page = await this.get<any[]>(`/v1/deployments/${deployment}/events?after=${after}&limit=10000`);
      if (page.length === 0) return all;
      all.push(...page);
      after = page[page.length - 1].seq;
    }
  }
}

/** Polls `f` until it returns a value other than undefined/false, or fails after `ms`. */
export async function waitFor<T>(what: string, ms: number, f: () => Promise<T | undefined | false>): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await f();
      if (v !== undefined && v !== false) return v as T;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${last}` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export const GBPUSD_GRANT = {
  capabilities: {
    'market-data': { instruments: ['GBP/USD.FXCM'] },
    'risk-gate': { instruments: ['GBP/USD.FXCM'] },
  },
};

export const RISK_POLICY = `
version = "console-e2e"
currency = "USD"

[defaults]
max_order_quantity = "200000"
max_position = "300000"
allowed_instruments = ["GBP/USD.FXCM"]

[halt]
flatten = false
`;

/** A paper session replaying the bundled GBP/USD minute file at `speed`. */
export function paperSession(dataFile: string, speed: number | 'max') {
  return { data: dataFile, format: 'fxcm-quotes', instrument: 'GBP/USD.FXCM', speed };
}
