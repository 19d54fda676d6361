// 1. Sign-in per role with the token; a wrong token is refused; sign-out.
import { test, expect } from './fixtures';
import type { Role } from './lib/state';

const ROLES: Role[] = ['author', 'operator', 'auditor', 'admin'];

for (const role of ROLES) {
  test(`${role} signs in with the token, sees "name (role)" and signs out`, async ({ page, state }) => {
    await page.goto('/');
    await expect(page.getByTestId('signin-token')).toBeVisible();
    await expect(page.getByTestId('whoami')).toHaveCount(0);
    await page.getByTestId('signin-token').fill(state.tokens[role]);
    await page.getByTestId('signin-submit').click();
    await expect(page.getByTestId('whoami')).toHaveText(`${state.names[role]} (${role})`);
    await expect(page.getByTestId('signin-token')).toHaveCount(0);
    // The session is the cookie: a reload keeps it.
    await page.reload();
    await expect(page.getByTestId('whoami')).toHaveText(`${state.names[role]} (${role})`);
    const session = await page.request.get('/v1/session');
    expect(session.status()).toBe(200);
    expect(await session.json()).toMatchObject({ name: state.names[role], role });

    await page.getByTestId('signout').click();
    await expect(page.getByTestId('signin-token')).toBeVisible();
    await expect(page.getByTestId('whoami')).toHaveCount(0);
    expect((await page.request.get('/v1/session')).status(), 'the session is gone on the server too').toBe(401);
    await page.reload();
    await expect(page.getByTestId('signin-token')).toBeVisible();
  });
}

test('a wrong token shows the sign-in error and signs nobody in', async ({ page }) => {
  await page.goto('/');
  await page.getByTestId('signin-token').fill(`sbx_${'0'.repeat(64)}`);
  await page.getByTestId('signin-submit').click();
  await expect(page.getByTestId('signin-error')).toBeVisible();
  await expect(page.getByTestId('signin-error')).not.toBeEmpty();
  await expect(page.getByTestId('whoami')).toHaveCount(0);
  expect((await page.request.get('/v1/session')).status()).toBe(401);
});
