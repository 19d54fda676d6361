// 13. Strategy definitions: a translation status reported through the API (PUT
// /v1/translations with the author's token, as `stratbox translate --server` does) shows on
// the Strategies page of the auditor, read-only, with its status and the error in full.
import { createHash } from 'node:crypto';
import { test, expect } from './fixtures';

test('a reported definition status shows on the Strategies page', async ({ page, state, api, signIn }) => {
  const report = {
    origin: 'defs/e2e-cross.json',
    definition_id: 'e2e-cross',
    status: 'failed',
    definition_sha256: createHash('sha256').update('console e2e: e2e-cross').digest('hex'),
    version: null,
    plugin: null,
    component_sha256: null,
    error: 'definition e2e-cross: rules[0].when: unknown indicator `foo`',
  };
  const stored = await api('author').expect(200, 'PUT', '/v1/translations', report);
  expect(stored, JSON.stringify(stored)).toMatchObject({
    origin: report.origin,
    definition_id: report.definition_id,
    status: 'failed',
    error: report.error,
  });
  const listed = await api('auditor').get<any[]>('/v1/translations');
  expect(listed.map((t) => t.origin), 'GET /v1/translations lists it').toContain(report.origin);

  await signIn('auditor', '#/strategies');
  const row = page.locator(`[data-testid="definition-row"][data-origin="${report.origin}"]`);
  await expect(row).toBeVisible();
  await expect(row.getByRole('rowheader')).toHaveText(report.definition_id);
  await expect(row.getByTestId('definition-status')).toHaveText('failed');
  await expect(row.getByTestId('definition-error')).toHaveText(report.error);
  await expect(row).toContainText(state.names.author);
  // Read-only for the auditor: no upload form on the page.
  await expect(page.getByTestId('upload-submit')).toHaveCount(0);
});
