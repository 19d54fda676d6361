// The test fixture of every spec: the base URL of the seeded server, API clients per role,
// and a guard that fails a test on any CSP violation, uncaught page error or console error
// (console errors a test expects can be allowed with `browserErrors.allow(/…/)`).
import { test as base, expect, type Page, type BrowserContext } from '@playwright/test';
import { Api } from './lib/api';
import { readState, type E2eState, type Role } from './lib/state';

export { expect };

export class BrowserErrors {
  readonly list: string[] = [];
  private allowed: RegExp[] = [
    // The sign-in page asks GET /v1/session first: 401 when nobody is signed in (and a
    // wrong token is a 401 too); Chromium logs every failed load on the console.
    /Failed to load resource: the server responded with a status of 401/,
  ];

  allow(re: RegExp): void {
    this.allowed.push(re);
  }

  /** Removes and returns the recorded errors matching `re` (a test that provoked them). */
  take(re: RegExp): string[] {
    const hit = this.list.filter((e) => re.test(e));
    for (const h of hit) this.list.splice(this.list.indexOf(h), 1);
    return hit;
  }

  unexpected(): string[] {
    return this.list.filter((e) => e.startsWith('csp-violation') || !this.allowed.some((re) => re.test(e)));
  }

  /** Records CSP violations, page errors and console errors of `page`. */
  async watch(page: Page, label = ''): Promise<void> {
    const at = () => (label ? `${label} ` : '') + page.url();
    page.on('console', (msg) => {
      if (msg.type() !== 'error') return;
      const src = msg.location()?.url;
      this.list.push(`console-error ${at()}: ${msg.text()}${src && src !== page.url() ? ` [${src}]` : ''}`);
    });
    page.on('pageerror', (err) => this.list.push(`page-error ${at()}: ${err.message}`));
    await page.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) => {
        // Reported through the console so that the test side sees it.
        console.error(`csp-violation ${e.violatedDirective} blocked ${e.blockedURI || '(inline)'} at ${e.sourceFile}:${e.lineNumber}`);
      });
    });
  }
}

export async function watchContext(context: BrowserContext, errors: BrowserErrors): Promise<void> {
  for (const p of context.pages()) await errors.watch(p);
  context.on('page', (p) => void errors.watch(p));
}

interface Fixtures {
  state: E2eState;
  api: (role: Role) => Api;
  browserErrors: BrowserErrors;
  /** Signs `page`'s context in as `role` (POST /v1/session, the cookie) and opens `hash`. */
  signIn: (role: Role, hash?: string) => Promise<void>;
}

export const test = base.extend<Fixtures>({
  state: async ({}, use) => {
    await use(readState());
  },
  baseURL: async ({}, use) => {
    await use(readState().baseUrl);
  },
  api: async ({ state }, use) => {
    await use((role: Role) => new Api(state.baseUrl, state.tokens[role]));
  },
  browserErrors: [
    async ({ page }, use, testInfo) => {
      const errors = new BrowserErrors();
      await errors.watch(page);
      await use(errors);
      const bad = errors.unexpected();
      if (bad.length) await testInfo.attach('browser-errors.txt', { body: bad.join('\n') });
      expect(bad, 'CSP violations, page errors or console errors in the browser').toEqual([]);
    },
    { auto: true },
  ],
  signIn: async ({ page, state }, use) => {
    await use(async (role: Role, hash = '#/overview') => {
      const r = await page.request.post('/v1/session', { data: { token: state.tokens[role] } });
      expect(r.status(), `POST /v1/session as ${role}: ${await r.text()}`).toBe(200);
      await page.goto(`/${hash}`);
      await expect(page.getByTestId('whoami')).toContainText(`${state.names[role]} (${role})`);
    });
  },
});

/** Reads a number out of a cell's text ("1,234.50 USD" → 1234.5; NaN if none). */
export function numberIn(text: string | null): number {
  const m = /-?[\d,]*\.?\d+/.exec((text ?? '').replace(/\u2212/g, '-'));
  return m ? Number(m[0].replace(/,/g, '')) : NaN;
}
