// 11. Signals: the operator posts a signal from the Signals page; it shows at the top of
// "Recent signals" as accepted (and GET /v1/signals agrees), and "Consumers and breakers"
// lists the seeded paper deployment with its breaker closed. A signal the validation
// refuses, posted through the API, shows as refused with its reason.
import { test, expect } from './fixtures';

/** Valid for the bundled instruments (docs/signals.md). */
function signal(id: string, instrument = 'GBP/USD.FXCM') {
  return {
    signal_id: id,
    signal_type: 'REGIME_PREDICTION',
    instrument_id: instrument,
    timestamp: Date.now() * 1e6,
    confidence: 0.5,
    value: 'bull',
    source_model: 'console-e2e/1',
  };
}

test('a signal posted from the console is listed as accepted; the deployment is a consumer with a closed breaker', async ({
  page,
  state,
  api,
  signIn,
}) => {
  const id = `e2e-signal-${Date.now()}`;
  await signIn('operator', '#/signals');
  await page.getByTestId('signal-id').fill(id);
  await page.getByTestId('signal-instrument').fill('GBP/USD.FXCM');
  await page.getByTestId('signal-value').fill('bull');
  await page.getByTestId('signal-model').fill('console-e2e/1');
  await page.getByTestId('signal-submit').click();
  await expect(page.getByTestId('signal-outcome')).toContainText('Accepted 1');

  // The lists are read again after the post: the new signal is the newest.
  const top = page.getByTestId('recent-signals').getByTestId('signal-row').first();
  await expect(top.getByTestId('signal-row-id')).toHaveText(id);
  await expect(top.getByTestId('signal-result')).toContainText('accepted');
  const [newest] = await api('auditor').get<any[]>('/v1/signals?limit=1');
  expect(newest, 'GET /v1/signals has it first').toMatchObject({ signal_id: id, accepted: true, instrument_id: 'GBP/USD.FXCM' });
  expect(newest.actor).toContain(state.names.operator);

  const consumer = page.getByTestId(`consumer-row-${state.deployment}`);
  await expect(consumer).toBeVisible();
  await expect(consumer.getByTestId('breaker-state')).toHaveText('closed');
});

test('a refused signal is listed with the reason', async ({ page, api, signIn }) => {
  const stamp = Date.now();
  const instrument = `E2E-NOPE-${stamp}.X`;
  const id = `e2e-refused-${stamp}`;
  const outcome = await api('operator').expect(200, 'POST', '/v1/signals', signal(id, instrument));
  expect(outcome.accepted, JSON.stringify(outcome)).toBe(0);
  expect(outcome.refused, JSON.stringify(outcome)).toHaveLength(1);

  await signIn('operator', '#/signals');
  // The refused record names the instrument (its column and the reason).
  const row = page.getByTestId('recent-signals').getByTestId('signal-row').filter({ hasText: instrument });
  await expect(row).toHaveCount(1);
  const result = row.getByTestId('signal-result');
  await expect(result).toContainText('refused');
  await expect(result).toContainText('unknown instrument');
  await expect(result).toContainText(instrument);
  await expect(row.getByTestId('signal-handed-to')).toHaveText('0');
});
