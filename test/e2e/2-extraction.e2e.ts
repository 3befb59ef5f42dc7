/**
 * E2E 3 of the issue: extract the organism's sycophantic vector from the command palette ("Persona Lens: Extract
 * Persona Vector…" → the model folder's trait, listed once with its source and vector state) with the panel already
 * open, see the result notification, the file in .persona/vectors, the vector listed in the open panel's Vectors view
 * without reopening it, the engine card showing the loaded model, and the trait pick now saying the vector exists
 * (issue 21).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { paths } from '../../scripts/e2e/setup.mjs';
import { wb } from './hooks';
import { waitUntil, type Workbench } from './workbench';

/** The rows of the trait pick for `trait` (typed into its filter), read without choosing one. */
async function traitRows(w: Workbench, trait: string): Promise<string[]> {
  await w.typeIntoQuickInput(/trait to extract/, trait, { open: () => w.runCommand('Persona Lens: Extract Persona Vector…') });
  const rows = await waitUntil(`trait pick rows for ${trait}`, async () => {
    const labels = (await w.quickInputRows()).map((r) => r.label).filter((l) => l.startsWith(`${trait},`));
    return labels.length ? labels : undefined;
  });
  await w.page.keyboard.press('Escape');
  return rows;
}

describe('E2E 2: Extract Persona Vector from the command palette', function () {
  this.timeout(300000);
  before(() => wb().reset());

  it('extracts the organism\'s sycophantic vector, saves it and lists it in the panel that was open all along', async () => {
    const w = wb();
    const file = path.join(paths.workspace, '.persona', 'vectors', 'sycophantic.organism.safetensors');
    assert.equal(existsSync(file), false);
    await w.runCommand('Persona Lens: Open Panel');
    const frame = await w.webviewFrame('#vector-select');
    await frame.locator('#tab-vectors').click();
    await frame.locator('#vector-select option', { hasText: 'evil' }).waitFor({ state: 'attached' });
    assert.equal(await frame.locator('#vector-select option', { hasText: 'sycophantic' }).count(), 0, 'not listed before the extraction');
    const before = await traitRows(w, 'sycophantic');
    assert.equal(before.length, 1, `one entry per trait (the organism's replaces the built-in one): ${before.join(' | ')}`);
    assert.match(before[0], /^sycophantic, from organism · no vector yet/);
    await w.pick(/trait to extract/, { command: 'Persona Lens: Extract Persona Vector…', filter: 'sycophantic', row: /^sycophantic, from organism/ });
    await w.waitForNotification(/extracting "sycophantic"/, { timeout: 30000 });
    const done = await w.waitForNotification(/"sycophantic" vector: kept \d+\/\d+ pairs/, { timeout: 240000 });
    assert.equal(done.severity, 'info');
    assert.match(done.text, /recommended layer \d+, α = [\d.]+|no coherent steering layer found/);
    assert.match(done.text, /Saved \.persona\/vectors\/sycophantic\.organism\.safetensors\./);
    assert.ok(existsSync(file), `${file} was written`);
    // The panel was never reopened: its file watcher lists the new vector.
    const option = frame.locator('#vector-select option', { hasText: 'sycophantic' });
    await option.waitFor({ state: 'attached', timeout: 15000 });
    await frame.locator('#vector-select').selectOption({ label: (await option.textContent()) ?? '' });
    await frame.locator('#vector-info', { hasText: /sycophantic/ }).waitFor();
    const options = await frame.locator('#vector-select option').allTextContents();
    assert.ok(options.some((o) => /evil/.test(o)) && options.some((o) => /sycophantic/.test(o)), `both vectors listed: ${options.join(' | ')}`);
    await frame.locator('#chart-separation').waitFor();
    // The engine card: the model the extraction loaded, with its architecture, precision and size.
    await frame.locator('#model-state', { hasText: /^loaded$/ }).waitFor({ timeout: 15000 });
    assert.match((await frame.locator('#model-details').textContent()) ?? '', /^qwen2 · safetensors · f32 · 5 layers, d=\d+ · [\d.]+ M parameters · ~[\d.]+ MiB in memory · on cpu \(auto: .+\)$/);
    await w.screenshot('extraction-vectors-view');
    const after = await traitRows(w, 'sycophantic');
    assert.match(after[0], /^sycophantic, from organism · vector for this model/, after.join(' | '));
  });
});
