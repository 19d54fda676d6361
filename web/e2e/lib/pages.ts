// The console's pages for the screenshot and accessibility tours, each with what shows that
// it has loaded, and the tour itself; and a finished backtest and sweep (made through the
// API once per run, remembered in the temporary folder) for the result pages.
import fs from 'node:fs';
import path from 'node:path';
import type { Page } from '@playwright/test';
import { expect, test } from '../fixtures';
import { Api, waitFor } from './api';
import { readState, type E2eState } from './state';

export interface Jobs {
  backtest: string;
  /** Undefined when the server has no sweeps (404/405). */
  sweep?: string;
}

async function finished(api: Api, kind: 'backtests' | 'sweeps', id: string): Promise<void> {
  await waitFor(`${id} finished`, 300_000, async () => {
    const job = await api.get(`/v1/${kind}/${id}`);
    if (['failed', 'cancelled', 'interrupted'].includes(job.status)) throw new Error(`${id} ${job.status}: ${JSON.stringify(job)}`);
    return job.status === 'finished';
  });
}

export async function ensureJobs(state: E2eState): Promise<Jobs> {
  const file = path.join(state.tmp, 'jobs.json');
  if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, 'utf8')) as Jobs;
  const op = new Api(state.baseUrl, state.tokens.operator);
  const request = {
    plugin: state.plugins.emaCross,
    params: { fast_period: '10', slow_period: '20' },
    data: state.dataFile,
    instrument: 'GBP/USD.FXCM',
    risk_policy: state.riskPolicy,
  };
  const bt = await op.expect(202, 'POST', '/v1/backtests', request);
  await finished(op, 'backtests', bt.id);
  const jobs: Jobs = { backtest: bt.id };
  const sw = await op.call('POST', '/v1/sweeps', { ...request, params: {}, grid: { fast_period: [5, 10], slow_period: [20, 40] } });
  if (sw.status === 202) {
    await finished(op, 'sweeps', sw.body.id);
    jobs.sweep = sw.body.id;
  } else if (sw.status !== 404 && sw.status !== 405) {
    throw new Error(`POST /v1/sweeps: HTTP ${sw.status} ${JSON.stringify(sw.body)}`);
  }
  fs.writeFileSync(file, JSON.stringify(jobs));
  return jobs;
}

export interface ConsolePage {
  name: string;
  hash: string;
  /** Waits until the page shows its content. */
  ready: (page: Page) => Promise<void>;
  /** Elements whose own screenshot must not be blank (charts). */
  charts?: string[];
}

const visible = async (page: Page, ...ids: string[]) => {
  for (const id of ids) await expect(page.getByTestId(id).first()).toBeVisible();
};

/** A list section that has loaded: its table (`id`) or its empty-state line (`id-empty`). */
const listed = async (page: Page, ...ids: string[]) => {
  for (const id of ids) await expect(page.getByTestId(id).or(page.getByTestId(`${id}-empty`))).toBeVisible();
};

export function consolePages(state: E2eState, jobs: Jobs): ConsolePage[] {
  const pages: ConsolePage[] = [
    { name: 'overview', hash: '#/overview', ready: (p) => visible(p, 'service-state', `deployment-row-${state.deployment}`) },
    {
      name: 'deployment',
      hash: `#/deployments/${state.deployment}`,
      ready: async (p) => {
        await visible(p, 'deployment-state', 'price-chart', 'equity-chart', 'fill-row', 'event-row');
      },
      charts: ['price-chart', 'equity-chart'],
    },
    {
      name: 'strategies',
      hash: '#/strategies',
      ready: async (p) => {
        await visible(p, `plugin-row-${state.plugins.emaCross}`, `plugin-row-${state.plugins.emaCrossV2}`);
        await listed(p, 'definitions');
      },
    },
    { name: 'grants', hash: '#/grants', ready: (p) => visible(p, `grant-row-${state.approvedGrant}`, `grant-row-${state.pendingGrant}`) },
    { name: 'backtests', hash: '#/backtests', ready: (p) => visible(p, 'bt-submit', `job-row-${jobs.backtest}`) },
    {
      name: 'backtest-result',
      hash: `#/backtests/${jobs.backtest}`,
      ready: (p) => visible(p, 'report-price-chart', 'report-equity-chart', 'stats-table'),
      charts: ['report-price-chart', 'report-equity-chart'],
    },
  ];
  if (jobs.sweep) pages.push({ name: 'sweep', hash: `#/sweeps/${jobs.sweep}`, ready: (p) => visible(p, 'sweep-table', 'sweep-heatmap') });
  pages.push(
    {
      name: 'signals',
      hash: '#/signals',
      ready: async (p) => {
        await visible(p, 'signal-submit', 'signals-table');
        await listed(p, 'recent-signals', 'dead-letters', 'signal-consumers');
      },
    },
    { name: 'audit', hash: '#/audit', ready: (p) => visible(p, 'audit-row', 'chain-status') },
  );
  return pages;
}

/**
 * Registers, in the calling spec file, a beforeAll that makes (or finds) the finished jobs
 * of the result pages; the returned function gives them to the tests.
 */
export function finishedJobs(): () => Jobs {
  let jobs: Jobs | undefined;
  test.beforeAll(async () => {
    test.setTimeout(600_000);
    jobs = await ensureJobs(readState());
  });
  return () => {
    if (!jobs) throw new Error('the finished jobs are made in beforeAll');
    return jobs;
  };
}

/**
 * The tour of `pages` in `page` (signed in): each one loaded afresh, so that one page that
 * breaks does not take the next ones with it, waited for until it shows, then `check`ed, as
 * a step of its own. Every page is tried before the test fails, so that one run lists them
 * all; `failed` may keep what a failed page looked like.
 */
export async function tourPages(
  page: Page,
  pages: ConsolePage[],
  check: (p: ConsolePage) => Promise<void>,
  failed?: (p: ConsolePage) => Promise<void>,
): Promise<void> {
  const failures: string[] = [];
  for (const p of pages) {
    await test.step(p.name, async () => {
      try {
        await page.goto('about:blank');
        await page.goto(`/${p.hash}`);
        await p.ready(page);
        await check(p);
      } catch (e) {
        await failed?.(p);
        failures.push(`${p.name}: ${(e as Error).message}`);
      }
    });
  }
  expect(failures, failures.join('\n\n')).toEqual([]);
}
