// Real-browser tests of the stratbox console (issue 25 item 6).
//
//   cd web && npx playwright test            (or: npx playwright test -c web/playwright.config.ts
//                                             from a folder whose node_modules has @playwright/test)
//
// Environment:
//   STRATBOX_BIN      the stratbox binary         (default <repo>/target/debug/stratbox)
//   STRATBOX_PLUGINS  folder of built components  (default <repo>/target/plugins)
//   CHROMIUM          the browser                 (default /usr/bin/chromium)
//   STRATBOX_REPO     the repository root         (default: the folder above this file)
//   STRATBOX_E2E_SPEED  speed of the seeded paper deployment (default 1800 recorded s per s)
//   STRATBOX_E2E_KEEP   keep the temporary folder (server log, database) after the run
//
// global-setup.ts starts `stratbox serve` on 127.0.0.1:0 with a fresh SQLite database,
// tokens for the four roles and seeded plugins, grants and a paper deployment; the tests
// read what it made from the JSON file named by STRATBOX_E2E_STATE (lib/state.ts).
// Paths here are relative to this file (it may load as CommonJS or as an ES module, so
// it uses neither __dirname nor import.meta).
import { defineConfig } from '@playwright/test';

export default defineConfig({
  testDir: './e2e',
  testMatch: /.*\.spec\.ts$/,
  outputDir: '../target/console-e2e/test-results',
  globalSetup: './e2e/global-setup.ts',
  globalTeardown: './e2e/global-teardown.ts',
  // The files share one server and one seeded deployment and run in name order.
  workers: 1,
  fullyParallel: false,
  retries: 0,
  forbidOnly: !!process.env.CI,
  reporter: 'list',
  // A debug build of the server: a deployment, a backtest or a sweep takes seconds.
  timeout: 180_000,
  globalTimeout: 45 * 60_000,
  expect: { timeout: 20_000 },
  use: {
    browserName: 'chromium',
    headless: true,
    viewport: { width: 1366, height: 900 },
    actionTimeout: 20_000,
    navigationTimeout: 30_000,
    screenshot: 'only-on-failure',
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
});
