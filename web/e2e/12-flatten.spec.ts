// 12. The operator flattens the seeded deployment from its page (reason required, the
// confirmation says what a flatten does), the API shows it halted, and it is resumed (from
// the console; through the API as well if the test fails half-way) so that the files after
// this one find it trading, as 03-halt.spec.ts leaves it. The page shows its open orders.
import { test, expect } from './fixtures';

test('flatten a deployment from the console, then resume it', async ({ page, state, api, signIn }) => {
  const op = api('operator');
  const id = state.deployment;
  expect((await op.get(`/v1/deployments/${id}`)).trading_state).toBe('ACTIVE');
  await signIn('operator', `#/deployments/${id}`);
  await expect(page.getByTestId('deployment-state')).toContainText('ACTIVE');
  await expect(page.getByRole('heading', { name: /^Open orders \(\d[\d,]*\)$/ })).toBeVisible();
  await expect(page.getByTestId('open-orders').or(page.getByTestId('open-orders-empty'))).toBeVisible();

  try {
    const reason = `console e2e flatten ${Date.now()}`;
    await page.getByTestId('flatten-button').click();
    const dialog = page.getByRole('dialog');
    await expect(dialog).toContainText('halts the deployment');
    await expect(dialog).toContainText('closes every position with reduce-only market orders');
    // The reason is required.
    await expect(page.getByTestId('confirm-button')).toBeDisabled();
    await page.getByTestId('reason-input').fill(reason);
    await page.getByTestId('confirm-button').click();
    await expect(dialog).toBeHidden();

    await expect(page.getByTestId('flatten-outcome')).toBeVisible();
    await expect(page.getByTestId('deployment-state')).toContainText('HALTED');
    await expect.poll(async () => (await op.get(`/v1/deployments/${id}`)).trading_state).toBe('HALTED');
    const audit = await api('admin').get<any[]>('/v1/audit?after=0&limit=10000');
    expect(JSON.stringify(audit), 'the flatten reason in the audit trail').toContain(reason);

    await page.getByTestId('resume-button').click();
    await page.getByTestId('reason-input').fill(`console e2e resume after flatten ${Date.now()}`);
    await page.getByTestId('confirm-button').click();
    await expect(page.getByTestId('reason-input')).toBeHidden();
    await expect(page.getByTestId('deployment-state')).toContainText('ACTIVE');
    await expect.poll(async () => (await op.get(`/v1/deployments/${id}`)).trading_state).toBe('ACTIVE');
  } finally {
    // Whatever failed above, the next files get the deployment trading again.
    if ((await op.get(`/v1/deployments/${id}`)).trading_state !== 'ACTIVE') {
      await op.call('POST', `/v1/deployments/${id}/resume`, { reason: 'console e2e: resume after a failed flatten test' });
    }
  }
});
