// 9. A screenshot of every page to target/console-e2e/screenshots/<page>.png, each checked
// not blank by its pixels (lib/png.ts), and each chart's own screenshot too. Then the
// self-contained backtest report (GET /v1/backtests/{id}/report.html) opened from a file
// with every network request blocked: its charts render from the file alone.
import fs from 'node:fs';
import path from 'node:path';
import { test, expect, watchContext, BrowserErrors } from './fixtures';
import { assertNotBlank } from './lib/png';
import { consolePages, finishedJobs, tourPages } from './lib/pages';
import { readState } from './lib/state';
import type { Locator } from '@playwright/test';

const jobs = finishedJobs();

async function chartDrawn(chart: Locator, what: string): Promise<void> {
  // The charts draw on a later animation frame: retry until the pixels are there.
  await expect(async () => {
    assertNotBlank(await chart.screenshot(), what, { nonBackground: 0.005, colours: 3, lumaStd: 1 });
  }).toPass({ timeout: 30_000 });
}

const shotDir = () => path.join(readState().out, 'screenshots');

test('every page renders (screenshots)', async ({ page, state, signIn }) => {
  test.setTimeout(300_000);
  await signIn('admin', '#/overview');
  await tourPages(
    page,
    consolePages(state, jobs()),
    async (p) => {
      for (const c of p.charts ?? []) await chartDrawn(page.getByTestId(c), `${p.name}: ${c}`);
      const file = path.join(shotDir(), `${p.name}.png`);
      const png = await page.screenshot({ path: file, fullPage: true, animations: 'disabled' });
      const m = assertNotBlank(png, `${p.name}.png`);
      console.log(`${p.name}.png ${m.width}x${m.height}, ${(m.nonBackground * 100).toFixed(1)}% off background, ${m.colours} colours`);
    },
    // The page as it was, for the report.
    async (p) => {
      await page.screenshot({ path: path.join(shotDir(), `${p.name}.FAILED.png`), fullPage: true }).catch(() => {});
    },
  );
});

test('the self-contained report renders from a file with the network blocked', async ({ browser, state, api }) => {
  const r = await api('operator').call('GET', `/v1/backtests/${jobs().backtest}/report.html`);
  expect(r.status).toBe(200);
  expect(typeof r.body).toBe('string');
  const file = path.join(state.tmp, `report-${jobs().backtest}.html`);
  fs.writeFileSync(file, r.body as string);

  const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  const errors = new BrowserErrors();
  await watchContext(context, errors);
  const blocked: string[] = [];
  await context.route('**', (route) => {
    const url = route.request().url();
    if (url.startsWith('file:') || url.startsWith('data:') || url.startsWith('blob:')) return route.continue();
    blocked.push(url);
    return route.abort();
  });
  try {
    const page = await context.newPage();
    await page.goto(`file://${file}`);
    const canvases = page.locator('canvas');
    await expect(canvases.first()).toBeVisible();
    const charts = ['report-price-chart', 'report-equity-chart'];
    let found = 0;
    for (const c of charts) {
      if ((await page.getByTestId(c).count()) === 0) continue;
      found++;
      await chartDrawn(page.getByTestId(c), `report file: ${c}`);
    }
    if (found === 0) await chartDrawn(canvases.first(), 'report file: first canvas');
    const png = await page.screenshot({ path: path.join(shotDir(), 'report-file.png'), fullPage: true, animations: 'disabled' });
    assertNotBlank(png, 'report-file.png');
    expect(blocked, 'the report asked for nothing outside its file').toEqual([]);
    // "Failed to load resource" would mean a blocked request: not allowed here.
    expect(errors.unexpected(), 'errors in the report page').toEqual([]);
  } finally {
    await context.close();
  }
});

test('moving between pages with the navigation raises no error', async ({ page, state, signIn }) => {
  // The tours above load each page afresh; this goes from page to page inside the app, so
  // that charts and sockets are set up and torn down as a user would make them.
  await signIn('admin', '#/overview');
  const nav = ['nav-strategies', 'nav-grants', 'nav-backtests', 'nav-signals', 'nav-audit', 'nav-overview'];
  for (let round = 0; round < 2; round++) {
    await page.getByTestId(`open-${state.deployment}`).click();
    await expect(page.getByTestId('price-chart').locator('canvas').first()).toBeVisible();
    for (const id of nav) {
      const before = page.url();
      await page.getByTestId(id).click();
      await expect(page).not.toHaveURL(before);
      await expect(page.getByTestId('whoami')).toBeVisible();
    }
  }
  await expect(page.getByTestId(`deployment-row-${state.deployment}`)).toBeVisible();
});
