// 10. Accessibility: axe-core on every page (and the sign-in page); any `serious` or
// `critical` violation fails, and all of them are printed.
import AxeBuilder from '@axe-core/playwright';
import { test, expect } from './fixtures';
import { consolePages, finishedJobs, tourPages } from './lib/pages';
import type { Page } from '@playwright/test';

const jobs = finishedJobs();

async function axe(page: Page, name: string): Promise<void> {
  const result = await new AxeBuilder({ page }).analyze();
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  for (const v of result.violations) {
    console.log(`[axe ${name}] ${v.impact} ${v.id}: ${v.help} (${v.helpUrl})`);
    for (const n of v.nodes.slice(0, 5)) console.log(`    ${n.target.join(' ')} — ${n.failureSummary?.replace(/\n/g, ' ')}`);
  }
  expect(
    bad.map((v) => `${v.impact} ${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`),
    `serious or critical accessibility violations on ${name}`,
  ).toEqual([]);
}

test('the sign-in page has no serious accessibility violation', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByTestId('signin-token')).toBeVisible();
  await axe(page, 'sign-in');
});

test('no page has a serious accessibility violation', async ({ page, state, signIn }) => {
  test.setTimeout(300_000);
  await signIn('admin', '#/overview');
  await tourPages(page, consolePages(state, jobs()), (p) => axe(page, p.name));
});
