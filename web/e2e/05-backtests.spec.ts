// 5. Backtests from the console: the operator starts one on the Backtests page, its
// progress bar rises, it finishes and its result page shows the charts and statistics;
// another one is cancelled from its row, and the API agrees.
import { test, expect } from './fixtures';
import type { Page } from '@playwright/test';
import type { Api } from './lib/api';
import { waitFor } from './lib/api';
import { choose } from './lib/ui';
import type { E2eState } from './lib/state';

async function jobIds(op: Api): Promise<Set<string>> {
  return new Set((await op.get<any[]>('/v1/backtests')).map((j) => j.id as string));
}

/** Fills the form and submits; the new job's id (from the API). */
async function submitBacktest(page: Page, op: Api, state: E2eState): Promise<string> {
  const before = await jobIds(op);
  await choose(page.getByTestId('bt-kind'), ['backtest']);
  const v1 = state.plugins.emaCross;
  await choose(page.getByTestId('bt-plugin'), [v1, v1.slice(0, 16), v1.slice(0, 12), v1.slice(0, 8)]);
  await choose(page.getByTestId('bt-data'), [state.dataFile]);
  await page.getByTestId('bt-submit').click();
  const id = await waitFor('the new backtest in GET /v1/backtests', 30_000, async () =>
    [...(await jobIds(op))].find((j) => !before.has(j)),
  );
  const job = await op.get(`/v1/backtests/${id}`);
  expect(job.kind).toBe('backtest');
  expect(job.request.plugin).toBe(v1);
  expect(job.request.data).toBe(state.dataFile);
  return id;
}

/** Records every value the job row's progress bar takes (a MutationObserver in the page). */
async function recordProgress(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as any;
    w.__progress = {} as Record<string, number[]>;
    const scan = () => {
      document.querySelectorAll('[data-testid^="job-row-"]').forEach((row) => {
        const id = row.getAttribute('data-testid')!.slice('job-row-'.length);
        const bar = row.querySelector('[role="progressbar"]');
        const v = bar?.getAttribute('aria-valuenow');
        if (v == null) return;
        const seen: number[] = (w.__progress[id] ??= []);
        if (seen[seen.length - 1] !== Number(v)) seen.push(Number(v));
      });
    };
    new MutationObserver(scan).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['aria-valuenow'] });
    scan();
  });
}

test('a backtest runs from the console, shows progress and its report', async ({ page, state, api, signIn }) => {
  const op = api('operator');
  await signIn('operator', '#/backtests');
  await expect(page.getByTestId('bt-submit')).toBeVisible();
  await recordProgress(page);

  const id = await submitBacktest(page, op, state);
  const row = page.getByTestId(`job-row-${id}`);
  await expect(row).toBeVisible();
  await expect(row.getByTestId('job-status')).toContainText(/finished/i, { timeout: 180_000 });
  const job = await op.get(`/v1/backtests/${id}`);
  expect(job.status, JSON.stringify(job)).toBe('finished');

  const seen: number[] = await page.evaluate((id) => (window as any).__progress[id] ?? [], id);
  console.log(`progress of ${id}: ${seen.join(' → ')}`);
  expect(seen.length, `aria-valuenow took at least two values: ${seen}`).toBeGreaterThanOrEqual(2);
  for (let i = 1; i < seen.length; i++) expect(seen[i], `progress never goes back: ${seen}`).toBeGreaterThanOrEqual(seen[i - 1]);
  expect(Math.max(...seen)).toBeGreaterThan(Math.min(...seen));

  await page.getByTestId(`job-open-${id}`).click();
  await expect(page).toHaveURL(new RegExp(`#/backtests/${id}$`));
  for (const chart of ['report-price-chart', 'report-equity-chart']) {
    await expect(page.getByTestId(chart)).toBeVisible();
    await expect(page.getByTestId(chart).locator('canvas').first()).toBeVisible();
  }
  await expect(page.getByTestId('stats-table')).toBeVisible();
  await expect(page.getByTestId('stats-table')).not.toBeEmpty();
});

test('a backtest is cancelled from its row', async ({ page, state, api, signIn }) => {
  const op = api('operator');
  await signIn('operator', '#/backtests');
  await expect(page.getByTestId('bt-submit')).toBeVisible();
  const id = await submitBacktest(page, op, state);
  const row = page.getByTestId(`job-row-${id}`);
  await page.getByTestId(`job-cancel-${id}`).click();
  // A confirmation step, if the console has one.
  const confirm = page.getByTestId('confirm-button');
  if (await confirm.waitFor({ state: 'visible', timeout: 2_000 }).then(() => true, () => false)) await confirm.click();
  await expect(row.getByTestId('job-status')).toContainText(/cancelled/i, { timeout: 60_000 });
  await expect.poll(async () => (await op.get(`/v1/backtests/${id}`)).status).toBe('cancelled');
});
