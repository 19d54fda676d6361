// 10. Accessibility: axe-core on every page (and the sign-in page); any `serious` or
// `critical` violation fails, and all of them are printed.
import AxeBuilder from '@axe-core/playwright';
import { test, expect } from './fixtures';
import { consolePages, ensureJobs, type Jobs } from './lib/pages';
import { readState } from './lib/state';
import type { Page } from '@playwright/test';

let jobs: Jobs;

test.beforeAll(async () => {
  test.setTimeout(600_000);
  jobs = await ensureJobs(readState());
});

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
  const failures: string[] = [];
  for (const p of consolePages(state, jobs)) {
    await test.step(p.name, async () => {
      try {
        // A fresh load per page: one page that breaks does not take the next ones with it.
        await page.goto('about:blank');
        await page.goto(`/${p.hash}`);
        await p.ready(page);
        await axe(page, p.name);
      } catch (e) {
        failures.push(`${p.name}: ${(e as Error).message}`);
      }
    });
  }
  // Every page is checked before failing, so that one run lists them all.
  expect(failures, failures.join('\n\n')).toEqual([]);
});
