// What global-setup.ts made, shared with the tests through a JSON file whose path is in
// STRATBOX_E2E_STATE (set by the global setup; the workers inherit it).
import fs from 'node:fs';

export type Role = 'author' | 'operator' | 'auditor' | 'admin';

export interface E2eState {
  /** `http://127.0.0.1:PORT` of the running `stratbox serve`. */
  baseUrl: string;
  /** The server's process id (global-teardown.ts stops it). */
  pid: number;
  /** The temporary folder: database, state, data, server.log. */
  tmp: string;
  repo: string;
  /** `<repo>/target/console-e2e` (screenshots under `screenshots/`). */
  out: string;
  dataDir: string;
  /** The data file under the data dir that deployments and backtests replay. */
  dataFile: string;
  tokens: Record<Role, string>;
  /** Token names: `whoami` shows `name (role)`. */
  names: Record<Role, string>;
  plugins: { emaCross: string; emaCrossV2: string };
  /** Approved grant of ema-cross (requested by the author, approved by the admin). */
  approvedGrant: string;
  /** Pending grant of ema-cross-v2 (requested by the author), for the grant test. */
  pendingGrant: string;
  /** The seeded paper deployment (running at `speed`). */
  deployment: string;
  speed: number;
  riskPolicy: string;
}

export function statePath(): string {
  const p = process.env.STRATBOX_E2E_STATE;
  if (!p) throw new Error('STRATBOX_E2E_STATE is not set: run the tests through playwright.config.ts (its global setup)');
  return p;
}

let cached: E2eState | undefined;

export function readState(): E2eState {
  cached ??= JSON.parse(fs.readFileSync(statePath(), 'utf8')) as E2eState;
  return cached;
}
