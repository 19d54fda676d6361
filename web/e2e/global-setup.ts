// Starts `stratbox serve` for the console tests and seeds it through the API.
//
// A temporary folder holds the SQLite database, the service's state dir and a data dir with
// the bundled GBP/USD minute file; a token per role is created with the CLI before the
// start (signed into the same audit chain with the service's key). Then, with bearer
// tokens: the author uploads ema-cross and ema-cross-v2 and requests a grant for each, the
// admin approves the first (the second stays pending for the grant test), and the operator
// deploys a paper session of ema-cross slow enough that a test can watch its fills arrive.
// What was made goes to `<tmp>/state.json` (STRATBOX_E2E_STATE) for the tests.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FullConfig } from '@playwright/test';
import { Api, GBPUSD_GRANT, RISK_POLICY, paperSession, waitFor } from './lib/api';
import type { E2eState, Role } from './lib/state';

const ROLES: Role[] = ['author', 'operator', 'auditor', 'admin'];
const DATA_FILE = 'gbpusd-m1-bid-2012.csv';

function must(file: string, what: string): string {
  if (!fs.existsSync(file)) throw new Error(`${what} not found at ${file}`);
  return file;
}

/** Starts the server; resolves with its address once it printed `listening on http://ADDR`. */
function startServer(bin: string, args: string[], log: string): Promise<{ pid: number; baseUrl: string }> {
  return new Promise((resolve, reject) => {
    const out = fs.createWriteStream(log);
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RUST_BACKTRACE: '1' } });
    let seen = '';
    let done = false;
    const timer = setTimeout(() => {
      if (done) return;
      done = true;
      child.kill('SIGKILL');
      reject(new Error(`stratbox serve printed no "listening on" line within 60 s; log: ${log}\n${seen.slice(-2000)}`));
    }, 60_000);
    // Both pipes are drained for the whole run (into server.log), or the server would block.
    child.stdout.pipe(out, { end: false });
    child.stderr.on('data', (chunk: Buffer) => {
      out.write(chunk);
      if (done) return;
      seen += chunk.toString();
      // Up to the end of the line: a busy machine may deliver the line in two chunks, and
      // a match on the first would take `http://127` for the address.
      const m = /stratbox service listening on (http:\/\/[^\s]+)\r?\n/.exec(seen);
      if (m) {
        done = true;
        clearTimeout(timer);
        child.unref();
        (child.stdout as any).unref?.();
        (child.stderr as any).unref?.();
        resolve({ pid: child.pid!, baseUrl: m[1] });
      }
    });
    child.on('exit', (code, signal) => {
      out.end();
      if (!done) {
        done = true;
        clearTimeout(timer);
        reject(new Error(`stratbox serve exited (${code ?? signal}) before listening; log: ${log}\n${seen.slice(-4000)}`));
      }
    });
    child.on('error', (e) => {
      if (!done) {
        done = true;
        clearTimeout(timer);
        reject(e);
      }
    });
  });
}

export default async function globalSetup(config: FullConfig): Promise<void> {
  const webDir = path.dirname(config.configFile ?? path.join(process.cwd(), 'playwright.config.ts'));
  const repo = path.resolve(process.env.STRATBOX_REPO ?? path.join(webDir, '..'));
  const bin = must(process.env.STRATBOX_BIN ?? path.join(repo, 'target', 'debug', 'stratbox'), 'the stratbox binary (STRATBOX_BIN)');
  const plugins = process.env.STRATBOX_PLUGINS ?? path.join(repo, 'target', 'plugins');
  const emaCross = must(path.join(plugins, 'ema-cross.wasm'), 'ema-cross.wasm (STRATBOX_PLUGINS)');
  const emaCrossV2 = must(path.join(plugins, 'ema-cross-v2.wasm'), 'ema-cross-v2.wasm (STRATBOX_PLUGINS)');
  const speed = Number(process.env.STRATBOX_E2E_SPEED ?? 1800);

  const out = path.join(repo, 'target', 'console-e2e');
  fs.mkdirSync(path.join(out, 'screenshots'), { recursive: true });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'stratbox-console-e2e-'));
  const dataDir = path.join(tmp, 'data');
  const stateDir = path.join(tmp, 'state');
  fs.mkdirSync(dataDir, { recursive: true });
  // The `fxcm-quotes` format reads the bid file with its `-ask-` twin beside it.
  for (const f of [DATA_FILE, DATA_FILE.replace('-bid-', '-ask-')]) {
    fs.copyFileSync(must(path.join(repo, 'data', 'fxcm', f), 'the bundled GBP/USD data'), path.join(dataDir, f));
  }
  const db = `sqlite://${path.join(tmp, 'db.sqlite')}`;
  const auditKey = path.join(stateDir, 'audit-signing.key');

  // Tokens, issued by the CLI into the database before the service starts.
  const tokens = {} as Record<Role, string>;
  const names = {} as Record<Role, string>;
  for (const role of ROLES) {
    const name = `e2e-${role}`;
    const stdout = execFileSync(bin, ['tokens', 'create', '--name', name, '--role', role, '--database-url', db, '--audit-key', auditKey], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const m = /sbx_[A-Za-z0-9_-]+/.exec(stdout);
    if (!m) throw new Error(`stratbox tokens create printed no token: ${stdout}`);
    tokens[role] = m[0];
    names[role] = name;
  }

  const log = path.join(tmp, 'server.log');
  const { pid, baseUrl } = await startServer(
    bin,
    ['serve', '--listen', '127.0.0.1:0', '--database-url', db, '--state-dir', stateDir, '--data-dir', dataDir, '--audit-key', auditKey],
    log,
  );
  const statePath = path.join(tmp, 'state.json');
  // Written at once so that the teardown can stop the server even if seeding fails.
  const partial = { baseUrl, pid, tmp, repo, out };
  fs.writeFileSync(statePath, JSON.stringify(partial, null, 2));
  process.env.STRATBOX_E2E_STATE = statePath;

  try {
    await seed(partial, statePath, tokens, names, emaCross, emaCrossV2, speed, dataDir);
  } catch (e) {
    // Playwright may not run the teardown when the setup fails: stop the server here.
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      /* gone */
    }
    throw e;
  }
}

async function seed(
  partial: { baseUrl: string; pid: number; tmp: string; repo: string; out: string },
  statePath: string,
  tokens: Record<Role, string>,
  names: Record<Role, string>,
  emaCross: string,
  emaCrossV2: string,
  speed: number,
  dataDir: string,
): Promise<void> {
  const { baseUrl, pid } = partial;
  // Each attempt has its own 5 s limit and reads its body; a refusal is kept for the error.
  await waitFor('/readyz', 60_000, async () => {
    const r = await fetch(`${baseUrl}/readyz`, { signal: AbortSignal.timeout(5_000) });
    const text = await r.text();
    if (!r.ok) throw new Error(`HTTP ${r.status}: ${text}`);
    return true;
  });

  const author = new Api(baseUrl, tokens.author);
  const admin = new Api(baseUrl, tokens.admin);
  const operator = new Api(baseUrl, tokens.operator);

  const v1 = await author.upload(emaCross);
  const v2 = await author.upload(emaCrossV2);
  const g1 = await author.expect(201, 'POST', '/v1/grants', { digest: v1, reason: 'console e2e: paper GBP/USD', grant: GBPUSD_GRANT });
  await admin.expect(200, 'POST', `/v1/grants/${g1.id}/approve`, { note: 'seeded by the console e2e setup' });
  const g2 = await author.expect(201, 'POST', '/v1/grants', { digest: v2, reason: 'console e2e: v2 awaiting review', grant: GBPUSD_GRANT });

  const dep = await operator.expect(201, 'POST', '/v1/deployments', {
    plugin: v1,
    grant: g1.id,
    params: { fast_period: '10', slow_period: '20' },
    risk_policy: RISK_POLICY,
    session: paperSession(DATA_FILE, speed),
  });
  // The tests start once the session trades.
  await waitFor(`a fill of ${dep.id}`, 120_000, async () => {
    const events = await operator.events(dep.id);
    if (events.some((e) => e.event?.kind === 'ended')) throw new Error(`${dep.id} ended during the setup: ${JSON.stringify(events.at(-1))}`);
    return events.some((e) => e.event?.kind === 'fill');
  });

  const state: E2eState = {
    ...partial,
    dataDir,
    dataFile: DATA_FILE,
    tokens,
    names,
    plugins: { emaCross: v1, emaCrossV2: v2 },
    approvedGrant: g1.id,
    pendingGrant: g2.id,
    deployment: dep.id,
    speed,
    riskPolicy: RISK_POLICY,
  };
  fs.writeFileSync(statePath, JSON.stringify(state, null, 2));
  console.log(`[console-e2e] stratbox serve at ${baseUrl} (pid ${pid}); deployment ${dep.id} at ${speed}x; state ${statePath}`);
}
