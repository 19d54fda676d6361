// 6. Reconnect without gap or duplicate: the test proxies the console's WebSocket, and on
// the first connection, once armed, after a few events of the deployment, swallows one and
// closes the socket as a server dropping it would. The console must show `reconnecting`
// then `connected`, catch up from GET /v1/deployments/{id}/events?after=<last seq>, and end
// with exactly the events the API holds, each once.
import { test, expect } from './fixtures';
import { paperSession, waitFor } from './lib/api';
import type { Page } from '@playwright/test';

const FORWARD_BEFORE_DROP = 3;

/**
 * The `data-key` of every event row, across the log's pages (the log is paged: its pager is
 * the navigation labelled "Events pages", First/Next buttons).
 */
async function allEventKeys(page: Page): Promise<string[]> {
  const rows = page.getByTestId('events-log').getByTestId('event-row');
  const read = () => rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-key') ?? ''));
  const pager = page.getByRole('navigation', { name: 'Events pages' });
  if ((await pager.count()) === 0) return read();
  const first = pager.getByRole('button', { name: 'First' });
  if (await first.isEnabled()) await first.click();
  const keys = await read();
  const next = pager.getByRole('button', { name: 'Next' });
  while (await next.isEnabled()) {
    const top = await rows.first().getAttribute('data-key');
    await next.click();
    await expect(rows.first()).not.toHaveAttribute('data-key', top ?? '');
    keys.push(...(await read()));
  }
  return keys;
}

test('the event log survives a dropped WebSocket with no gap and no duplicate', async ({ page, state, api, signIn, browserErrors }) => {
  test.setTimeout(300_000);
  const op = api('operator');
  // A deployment of its own, stopped at the end of the test, so that "all its events" is a
  // finite list.
  const dep = await op.expect(201, 'POST', '/v1/deployments', {
    plugin: state.plugins.emaCross,
    grant: state.approvedGrant,
    params: { fast_period: '5', slow_period: '15' },
    risk_policy: state.riskPolicy,
    session: paperSession(state.dataFile, state.speed),
  });
  const id: string = dep.id;

  let connections = 0;
  let armed = false;
  let ours = 0;
  let swallowed: string | undefined;
  // With or without a query (`?deployment=`).
  await page.routeWebSocket(/\/v1\/stream(\?.*)?$/, (ws) => {
    const n = ++connections;
    const server = ws.connectToServer();
    if (n > 1) return; // later connections: a plain pass-through
    server.onMessage((message) => {
      if (swallowed) return;
      const text = typeof message === 'string' ? message : message.toString('utf8');
      let msg: any;
      try {
        msg = JSON.parse(text);
      } catch {
        msg = undefined;
      }
      if (armed && msg?.deployment === id && typeof msg.seq === 'number') {
        ours += 1;
        if (ours > FORWARD_BEFORE_DROP) {
          // This event never reaches the page over the socket: only the catch-up has it.
          swallowed = `${id}:${msg.seq}`;
          ws.close({ code: 1001, reason: 'e2e: the server went away' });
          server.close();
          return;
        }
      }
      ws.send(message);
    });
  });
  // The browser may log the dropped connection.
  browserErrors.allow(/WebSocket/i);

  await signIn('operator', `#/deployments/${id}`);
  await expect(page.getByTestId('deployment-status')).toContainText(/running/i);
  await expect(page.getByTestId('ws-status')).toHaveText('connected');
  await expect(page.getByTestId('event-row').first()).toBeVisible();
  // From here on, every text the ws-status indicator shows, in order (it may say
  // `reconnecting` only for a moment); then the proxy may drop the socket.
  await page.evaluate(() => {
    const w = window as any;
    w.__wsStatus = [] as string[];
    const scan = () => {
      const t = document.querySelector('[data-testid="ws-status"]')?.textContent?.trim();
      if (t && w.__wsStatus[w.__wsStatus.length - 1] !== t) w.__wsStatus.push(t);
    };
    new MutationObserver(scan).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
    scan();
  });
  armed = true;

  await expect.poll(() => swallowed, { timeout: 120_000, message: 'the proxy dropped the first connection' }).toBeDefined();
  await expect.poll(() => connections, { timeout: 60_000, message: 'the console opened a new WebSocket' }).toBeGreaterThanOrEqual(2);
  await expect(page.getByTestId('ws-status')).toHaveText(/\bconnected\b/i, { timeout: 60_000 });
  const statuses: string[] = await page.evaluate(() => (window as any).__wsStatus);
  console.log(`ws-status went: ${statuses.join(' → ')}; swallowed ${swallowed}`);
  const rec = statuses.findIndex((s) => /reconnecting/i.test(s));
  expect(rec, `ws-status showed "reconnecting": ${statuses}`).toBeGreaterThanOrEqual(0);
  expect(
    statuses.slice(rec + 1).some((s) => /\bconnected\b/i.test(s)),
    `ws-status showed "connected" after "reconnecting": ${statuses}`,
  ).toBe(true);

  // The swallowed event arrives through the catch-up; more events come over the new socket.
  const rows = page.getByTestId('events-log').getByTestId('event-row');
  await expect(page.locator(`[data-testid="event-row"][data-key="${swallowed}"]`)).toHaveCount(1, { timeout: 60_000 });
  const topSeq = async () => Number((await rows.first().getAttribute('data-key'))?.split(':').pop());
  const atReconnect = await topSeq();
  await expect.poll(topSeq, { timeout: 60_000, message: 'events keep arriving after the reconnect' }).toBeGreaterThan(atReconnect + 3);

  // Stop it: the list of its events is then final.
  await op.expect([200, 202, 204], 'DELETE', `/v1/deployments/${id}`);
  await waitFor(`${id} stopped`, 120_000, async () => (await op.get(`/v1/deployments/${id}`)).status !== 'running');
  await expect(page.getByTestId('deployment-status')).not.toContainText(/running/i, { timeout: 60_000 });
  const expected = (await op.events(id)).map((e) => `${id}:${e.seq}`);
  expect(expected.at(-1), 'the API log ends with the `ended` event').toBeDefined();
  const keys = () => allEventKeys(page);
  const bySeq = (a: string, b: string) => Number(a.split(':').pop()) - Number(b.split(':').pop());
  await expect
    .poll(async () => [...(await keys())].sort(bySeq), { timeout: 60_000, message: 'the event rows are exactly the API events' })
    .toEqual([...expected].sort(bySeq));
  const final = await keys();
  expect(new Set(final).size, `no duplicate rows (${final.length} rows)`).toBe(final.length);
  // 1..N without a hole on the API side too.
  expect(expected.map((k) => Number(k.split(':').pop()))).toEqual(expected.map((_, i) => i + 1));
});
