// 4. The admin approves the pending grant (ema-cross-v2, requested by the author) from the
// Grants page; the API shows it approved, by the admin, with the note.
import { test, expect } from './fixtures';

test('the admin approves the pending grant', async ({ page, state, api, signIn }) => {
  const id = state.pendingGrant;
  const before = await api('admin').get(`/v1/grants/${id}`);
  expect(before.status, 'the seeded grant is still pending').toBe('pending');

  await signIn('admin', '#/grants');
  await expect(page.getByTestId(`grant-row-${id}`)).toBeVisible();
  await expect(page.getByTestId(`grant-status-${id}`)).toContainText(/pending/i);

  const note = `approved by the console e2e ${Date.now()}`;
  const noteInput = page.getByTestId('note-input');
  let filled = false;
  if (await noteInput.isVisible()) {
    await noteInput.fill(note);
    filled = true;
  }
  await page.getByTestId(`approve-${id}`).click();
  // The note may be asked for in a confirmation step instead.
  const confirm = page.getByTestId('confirm-button');
  if (await confirm.waitFor({ state: 'visible', timeout: 3_000 }).then(() => true, () => false)) {
    if (!filled && (await noteInput.isVisible())) {
      await noteInput.fill(note);
      filled = true;
    }
    await confirm.click();
  }

  await expect(page.getByTestId(`grant-status-${id}`)).toContainText(/approved/i);
  await expect(page.getByTestId(`approve-${id}`)).toHaveCount(0);
  const after = await api('admin').get(`/v1/grants/${id}`);
  expect(after.status).toBe('approved');
  expect(after.decided_by).toContain(state.names.admin);
  if (filled) expect(after.decision_note).toBe(note);
});
