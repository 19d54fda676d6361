// 7. Roles and CSRF: the auditor sees no control anywhere and a forged request from the
// auditor's cookie session is refused (403, its role); a request with an operator's
// cookie but without (or with a wrong) CSRF header is refused too (403 `csrf`). Neither
// changes the deployment.
import { test, expect } from './fixtures';

const CONTROLS = ['halt-button', 'resume-button', 'flatten-button', 'stop-button', 'swap-button', 'kill-switch', 'service-resume'];

test('the auditor sees no controls on the overview and the deployment page', async ({ page, state, signIn }) => {
  await signIn('auditor', '#/overview');
  await expect(page.getByTestId(`deployment-row-${state.deployment}`)).toBeVisible();
  await expect(page.getByTestId('service-state')).toBeVisible();
  for (const id of CONTROLS) await expect(page.getByTestId(id), `${id} on the overview`).toHaveCount(0);

  await page.getByTestId(`open-${state.deployment}`).click();
  await expect(page.getByTestId('deployment-state')).toBeVisible();
  await expect(page.getByTestId('events-log')).toBeVisible();
  for (const id of CONTROLS) await expect(page.getByTestId(id), `${id} on the deployment page`).toHaveCount(0);
});

test('a forged halt from the auditor cookie session is refused', async ({ page, state, api, signIn }) => {
  const before = (await api('operator').get(`/v1/deployments/${state.deployment}`)).trading_state;
  await signIn('auditor', '#/overview');
  const session = await page.request.get('/v1/session');
  expect(session.status()).toBe(200);
  const { csrf } = await session.json();
  expect(csrf, 'GET /v1/session gives the CSRF token').toBeTruthy();
  const r = await page.request.post(`/v1/deployments/${state.deployment}/halt`, {
    headers: { 'X-CSRF-Token': csrf },
    data: { reason: 'x' },
  });
  const body = await r.json().catch(() => ({}));
  expect(r.status(), JSON.stringify(body)).toBe(403);
  expect(body.error, 'refused for the role, not for the CSRF token').not.toBe('csrf-failed');
  expect((await api('operator').get(`/v1/deployments/${state.deployment}`)).trading_state).toBe(before);
});

test('an operator cookie without the CSRF header is refused', async ({ page, state, api, signIn }) => {
  const before = (await api('operator').get(`/v1/deployments/${state.deployment}`)).trading_state;
  await signIn('operator', '#/overview');
  const without = await page.request.post(`/v1/deployments/${state.deployment}/halt`, { data: { reason: 'x' } });
  const b1 = await without.json().catch(() => ({}));
  expect(without.status(), JSON.stringify(b1)).toBe(403);
  expect(b1.error).toBe('csrf-failed');
  const wrong = await page.request.post(`/v1/deployments/${state.deployment}/halt`, {
    headers: { 'X-CSRF-Token': 'not-the-token' },
    data: { reason: 'x' },
  });
  const b2 = await wrong.json().catch(() => ({}));
  expect(wrong.status(), JSON.stringify(b2)).toBe(403);
  expect(b2.error).toBe('csrf-failed');
  // Sign-out needs it as well.
  expect((await page.request.delete('/v1/session')).status()).toBe(403);
  expect((await page.request.get('/v1/session')).status(), 'still signed in').toBe(200);
  expect((await api('operator').get(`/v1/deployments/${state.deployment}`)).trading_state).toBe(before);
});
