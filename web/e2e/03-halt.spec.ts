// 3. The operator halts the deployment from its page (reason required), the API agrees,
// and resumes it.
import { test, expect } from './fixtures';
import type { Page } from '@playwright/test';

/** Clicks `button`; fills the reason and confirms when the console asks for them. */
async function withReason(page: Page, button: string, reason: string): Promise<void> {
  await page.getByTestId(button).click();
  const input = page.getByTestId('reason-input');
  if (await input.waitFor({ state: 'visible', timeout: 5_000 }).then(() => true, () => false)) {
    await input.fill(reason);
    await page.getByTestId('confirm-button').click();
    await expect(input).toBeHidden();
  }
}

test('halt and resume a deployment from the console', async ({ page, state, api, signIn }) => {
  const op = api('operator');
  const id = state.deployment;
  expect((await op.get(`/v1/deployments/${id}`)).trading_state).toBe('ACTIVE');
  await signIn('operator', `#/deployments/${id}`);
  await expect(page.getByTestId('deployment-state')).toContainText('ACTIVE');

  // The halt asks for a reason.
  const reason = `console e2e halt ${Date.now()}`;
  await page.getByTestId('halt-button').click();
  await expect(page.getByTestId('reason-input')).toBeVisible();
  await page.getByTestId('reason-input').fill(reason);
  await page.getByTestId('confirm-button').click();

  await expect(page.getByTestId('deployment-state')).toContainText('HALTED');
  await expect.poll(async () => (await op.get(`/v1/deployments/${id}`)).trading_state).toBe('HALTED');
  // The reason reached the server (it is in the audit trail).
  const audit = await api('admin').get<any[]>('/v1/audit?after=0&limit=10000');
  expect(JSON.stringify(audit), 'the halt reason in the audit trail').toContain(reason);

  await withReason(page, 'resume-button', `console e2e resume ${Date.now()}`);
  await expect(page.getByTestId('deployment-state')).toContainText('ACTIVE');
  await expect.poll(async () => (await op.get(`/v1/deployments/${id}`)).trading_state).toBe('ACTIVE');
});
