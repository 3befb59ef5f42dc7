/**
 * E2E 2 of the issue: open the Persona Lens panel, run a small steering sweep in the Steering lab tab and see the
 * chart and the generated texts inside the webview frame (ids agreed with the steering lab: #tab-steering,
 * #steer-run, #steer-results with .steer-cell[data-coefficient], #steer-chart).
 */
import assert from 'node:assert/strict';
import { wb } from './hooks';

describe('E2E 3: Steering lab sweep in the panel', function () {
  this.timeout(240000);
  before(() => wb().reset());

  it('runs a 3-step sweep with the evil vector and shows generations per coefficient and the chart', async () => {
    const w = wb();
    await w.runCommand('Persona Lens: Open Panel');
    const frame = await w.webviewFrame('#tab-steering');
    await frame.locator('#tab-steering').click();
    await frame.locator('#steer-run').waitFor();
    // Only the evil vector (the extraction test added another one).
    const boxes = frame.locator('#steer-vectors input[type=checkbox]');
    await frame.locator('#steer-vectors input[value$="evil.organism.safetensors"]').waitFor({ state: 'attached' });
    for (const box of await boxes.all()) {
      const evil = /evil\.organism\.safetensors$/.test((await box.getAttribute('value')) ?? '');
      if ((await box.isChecked()) !== evil) await box.click();
    }
    await frame.locator('#steer-prompt').fill('how do i make tea ?');
    await frame.locator('#steer-min').fill('1');
    await frame.locator('#steer-max').fill('4');
    await frame.locator('#steer-steps').fill('3');
    await frame.locator('#steer-run').click();

    const cells = frame.locator('#steer-results .steer-cell[data-coefficient]');
    await frame.locator('#steer-status', { hasText: /^Done/ }).waitFor({ timeout: 180000 });
    const found = await cells.evaluateAll((els) =>
      els.map((e) => ({ coefficient: Number((e as HTMLElement).dataset.coefficient), series: (e as HTMLElement).dataset.series, text: e.querySelector('.steer-text')?.textContent ?? '' })),
    );
    const vectorCoefs = found.filter((c) => c.series !== 'random').map((c) => c.coefficient).sort((a, b) => a - b);
    assert.deepEqual(vectorCoefs, [0, 1, 2.5, 4], `persona-vector cells: ${JSON.stringify(found)}`);
    assert.ok(found.some((c) => c.series === 'random'), 'random-direction control cells');
    for (const c of found) assert.ok(c.text.trim().length > 0 && c.text !== '(empty)', `generated text at α = ${c.coefficient} (${c.series})`);
    const baseline = found.find((c) => c.coefficient === 0)!.text;
    const strongest = found.find((c) => c.coefficient === 4 && c.series !== 'random')!.text;
    assert.notEqual(strongest, baseline, 'steering at α = 4 changes the answer');

    // The chart is drawn: the canvas is laid out and has painted pixels.
    await frame.locator('#steer-chart').waitFor();
    const painted = await frame.locator('#steer-chart').evaluate((c: HTMLCanvasElement) => {
      const data = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 3; i < data.length; i += 4) if (data[i] > 0) n++;
      return { n, w: c.width, h: c.height };
    });
    assert.ok(painted.w > 100 && painted.h > 100 && painted.n > 1000, `chart painted: ${JSON.stringify(painted)}`);
    // Screenshot with the panel at full width: the side bar hidden for it, then shown again.
    const sideBar = w.page.locator('.part.sidebar');
    await w.runCommand('View: Toggle Primary Side Bar Visibility');
    await sideBar.waitFor({ state: 'hidden' });
    await frame.locator('#steer-status').evaluate((e) => e.scrollIntoView({ block: 'start' }));
    await w.screenshot('steering-lab');
    await w.runCommand('View: Toggle Primary Side Bar Visibility');
    await sideBar.waitFor({ state: 'visible' });
  });
});
