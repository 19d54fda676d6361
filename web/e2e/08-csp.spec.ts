// 8. The console is served with a strict Content-Security-Policy; the fixture
// (fixtures.ts) fails every test of every file on a CSP violation or a console error. This
// file also proves that the collector sees a violation: an inline script is refused.
import { test, expect } from './fixtures';

test('GET / has a strict CSP without unsafe-inline', async ({ page }) => {
  const resp = await page.goto('/');
  expect(resp?.status()).toBe(200);
  const csp = resp!.headers()['content-security-policy'];
  expect(csp, 'a content-security-policy header').toBeTruthy();
  expect(csp).not.toContain('unsafe-inline');
  expect(csp).not.toContain('unsafe-eval');
  expect(csp).toMatch(/default-src 'none'/);
  expect(csp).toMatch(/script-src 'self'(;|$)/);
  expect(csp).toMatch(/frame-ancestors 'none'/);
  // index.html has no inline script or style.
  const html = await resp!.text();
  expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/i);
  expect(html).not.toMatch(/<style[\s>]/i);
  await expect(page.getByTestId('signin-token')).toBeVisible();
});

test('an inline script is refused and the violation is caught', async ({ page, browserErrors }) => {
  await page.goto('/');
  await expect(page.getByTestId('signin-token')).toBeVisible();
  await page
    .evaluate(() => {
      const s = document.createElement('script');
      s.textContent = 'window.__inlineRan = true';
      document.head.appendChild(s);
    })
    .catch(() => {});
  await expect.poll(() => browserErrors.list.filter((e) => e.includes('csp-violation')).length).toBeGreaterThan(0);
  expect(await page.evaluate(() => (window as any).__inlineRan)).toBeUndefined();
  // Provoked on purpose: not a failure of this test.
  browserErrors.take(/csp-violation|Content Security Policy/);
});
