// Stops the server with SIGTERM (it stops its sessions, writes their state and drains),
// SIGKILL after 30 s; keeps its log under target/console-e2e and removes the temporary
// folder unless STRATBOX_E2E_KEEP is set.
import fs from 'node:fs';
import path from 'node:path';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export default async function globalTeardown(): Promise<void> {
  const file = process.env.STRATBOX_E2E_STATE;
  if (!file || !fs.existsSync(file)) return;
  const state = JSON.parse(fs.readFileSync(file, 'utf8')) as { pid: number; tmp: string; out: string };
  if (state.pid && alive(state.pid)) {
    process.kill(state.pid, 'SIGTERM');
    const end = Date.now() + 30_000;
    while (alive(state.pid) && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
    if (alive(state.pid)) {
      console.warn(`[console-e2e] stratbox serve (pid ${state.pid}) still running 30 s after SIGTERM: killing it`);
      process.kill(state.pid, 'SIGKILL');
    }
  }
  const log = path.join(state.tmp, 'server.log');
  if (fs.existsSync(log)) {
    fs.mkdirSync(state.out, { recursive: true });
    fs.copyFileSync(log, path.join(state.out, 'server.log'));
  }
  if (process.env.STRATBOX_E2E_KEEP) console.log(`[console-e2e] kept ${state.tmp}`);
  else fs.rmSync(state.tmp, { recursive: true, force: true });
}
