// 2. Live updates: the operator's overview shows the seeded paper deployment and its
// realized PnL and fill count change while the page stays open; the deployment page's
// fills table gains rows.
import { test, expect, numberIn } from './fixtures';

test('the overview row of the running deployment updates live', async ({ page, state, signIn }) => {
  await signIn('operator', '#/overview');
  const row = page.getByTestId(`deployment-row-${state.deployment}`);
  await expect(row).toBeVisible();
  await expect(row.getByTestId('status')).toContainText(/running/i);
  await expect(row.getByTestId('state')).toContainText(/ACTIVE|HALTED|REDUCING/);

  const fills = row.getByTestId('fills');
  const pnl = row.getByTestId('realized-pnl');
  const lastEvent = row.getByTestId('last-event');
  const fills0 = numberIn(await fills.textContent());
  const pnl0 = (await pnl.textContent())?.trim();
  const last0 = (await lastEvent.textContent())?.trim();
  // No reload: the WebSocket brings the changes.
  await expect.poll(async () => numberIn(await fills.textContent()), { timeout: 90_000, message: 'the fills cell grows' }).toBeGreaterThan(
    Number.isNaN(fills0) ? -1 : fills0,
  );
  await expect.poll(async () => (await pnl.textContent())?.trim(), { timeout: 120_000, message: 'the realized PnL cell changes' }).not.toBe(pnl0);
  await expect.poll(async () => (await lastEvent.textContent())?.trim(), { timeout: 30_000, message: 'the last-event cell changes' }).not.toBe(last0);
});

test('the deployment page fills table gains rows', async ({ page, state, signIn }) => {
  await signIn('operator', '#/overview');
  await page.getByTestId(`open-${state.deployment}`).click();
  await expect(page).toHaveURL(new RegExp(`#/deployments/${state.deployment}$`));
  await expect(page.getByTestId('deployment-status')).toContainText(/running/i);
  const rows = page.getByTestId('fills-table').getByTestId('fill-row');
  await expect(rows.first()).toBeVisible({ timeout: 60_000 });
  // The table is paged (newest first): a new fill shows as a new first row (and more rows
  // until the page is full).
  const signature = async () => `${await rows.count()}|${await rows.first().innerText()}`;
  const s0 = await signature();
  await expect.poll(signature, { timeout: 90_000, message: 'a new fill row arrives' }).not.toBe(s0);
  const [n0, n1] = [Number(s0.split('|')[0]), await rows.count()];
  expect(n1).toBeGreaterThanOrEqual(n0);
  // The charts are drawn.
  for (const id of ['price-chart', 'equity-chart']) await expect(page.getByTestId(id).locator('canvas').first()).toBeVisible();
});

test('the deployment page shows its risk limits and their use', async ({ page, state, signIn }) => {
  await signIn('auditor', `#/deployments/${state.deployment}`);
  const table = page.getByTestId('risk-limits');
  await expect(table).toBeVisible();
  // The seeded policy's [defaults] max_position, and the gate's own figures.
  await expect(table.getByTestId('risk-row').filter({ hasText: 'max_position' })).toContainText('300000');
  await expect(table.getByTestId('risk-row').first()).toContainText(/open orders/);
  await expect(page.getByText('console-e2e', { exact: false }).first()).toBeVisible();
});
