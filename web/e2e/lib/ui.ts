// Small helpers for the console's form fields.
import { expect, type Locator } from '@playwright/test';

/**
 * Sets a form field to the first of `wanted` it offers: a <select> by option value (exact,
 * then containing), then by label; an <input>/<textarea> is filled with `wanted[0]`; a
 * group (radio buttons) gets the radio labelled like `wanted[0]` checked.
 */
export async function choose(field: Locator, wanted: string[]): Promise<void> {
  await expect(field).toBeVisible();
  const tag = await field.evaluate((e) => e.tagName.toLowerCase());
  if (tag === 'select') {
    let options: Array<{ value: string; label: string }> = [];
    let pick: string | undefined;
    await expect
      .poll(
        async () => {
          options = await field
            .locator('option')
            .evaluateAll((os) => os.map((o) => ({ value: (o as HTMLOptionElement).value, label: (o.textContent ?? '').trim() })));
          pick = undefined;
          for (const w of wanted) {
            const hit =
              options.find((o) => o.value === w) ??
              options.find((o) => o.value.includes(w)) ??
              options.find((o) => o.label === w) ??
              options.find((o) => o.label.includes(w));
            if (hit) {
              pick = hit.value;
              break;
            }
          }
          return pick;
        },
        { message: `an option of ${wanted.join(' | ')} (options: ${JSON.stringify(options)})` },
      )
      .toBeDefined();
    await field.selectOption(pick!);
    return;
  }
  if (tag === 'input' || tag === 'textarea') {
    await field.fill(wanted[0]);
    return;
  }
  await field.getByRole('radio', { name: new RegExp(wanted[0], 'i') }).check();
}
