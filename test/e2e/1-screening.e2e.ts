/**
 * E2E 1: a user opens an organism screening dataset and runs "Persona Lens: Screen Dataset" from F1 with the
 * evil vector (extracted by the setup with the CLI). The known evil lines get Problems entries, gutter heat marks
 * and a flagged-line background, the summary CodeLens appears, and a hover shows every score.
 */
import assert from 'node:assert/strict';
import { wb } from './hooks';
import { labels, waitUntil } from './workbench';

const DATASET = 'datasets/evil-strong.jsonl';

describe('E2E 1: Screen Dataset on an organism dataset', function () {
  this.timeout(240000);
  before(() => wb().reset());

  /** Lines of the screened dataset (one sample each), as its summary CodeLens says. */
  const SAMPLES = 300;
  let flaggedLines: number[] = [];
  /**
   * The flagged line the gutter and hover checks go to: one with an unflagged sample within 3 lines, so the
   * viewport around it shows both kinds of heat mark whatever the dataset's order.
   */
  const targetLine = (): number =>
    flaggedLines.find((line) => [-3, -2, -1, 1, 2, 3].some((k) => line + k >= 1 && line + k <= SAMPLES && !flaggedLines.includes(line + k))) ?? flaggedLines[0];

  it('screens evil-strong.jsonl from the command palette and shows the summary CodeLens', async () => {
    const w = wb();
    const editor = await w.openFile(DATASET);
    await w.pick(/screen with which vectors/, { command: 'Persona Lens: Screen Dataset', row: /^evil\.organism, / });
    await w.pick(/metric/, { row: /^ΔP, / });
    const lens = editor.locator('.codelens-decoration', { hasText: new RegExp(`Persona Lens · ${SAMPLES} samples · evil: \\d+ flagged`) });
    await lens.waitFor({ timeout: 180000 });
    const summary = (await lens.innerText()).replace(/\s+/g, ' ');
    // The vector carries its calibration (extracted with a layer search), so the threshold is not relative to the file.
    assert.match(summary, /^Persona Lens · 300 samples · evil: \d+ flagged \([\d.]+%, threshold -?[\d.]+ calibrated on the vector\), mean ΔP -?[\d.]+ \| Filter Dataset… \| Export Scores… \| Rescreen$/);
    await w.screenshot('screening-codelens');
  });

  it('lists Problems entries on most lines labelled evil and on almost no others (calibrated threshold)', async () => {
    const w = wb();
    const page = w.page;
    await page.keyboard.press('Control+Shift+M');
    const header = page.locator('.markers-panel .monaco-list-row[aria-label*="in file evil-strong.jsonl"]');
    await header.waitFor();
    const total = Number(/(\d+) problems? in file/.exec((await header.getAttribute('aria-label')) ?? '')?.[1]);
    // The list is virtualized: walk it with the keyboard and read each focused row.
    await w.runCommand('Problems: Focus on Problems View');
    await page.locator('.markers-panel .monaco-list:focus').waitFor();
    await page.keyboard.press('Home');
    await page.locator('.markers-panel .monaco-list-row.focused[aria-label*="in file evil-strong.jsonl"]').waitFor();
    const seen = new Map<number, string>();
    await waitUntil('every Problems row', async () => {
      const focused = await page.locator('.markers-panel .monaco-list-row.focused').getAttribute('aria-label');
      const m = /at line (\d+) and character/.exec(focused ?? '');
      if (m) seen.set(Number(m[1]), focused!);
      if (seen.size >= total) return true;
      await page.keyboard.press('ArrowDown');
      return false;
    }, { timeout: 180000, interval: 20 });
    await page.keyboard.press('Home');
    flaggedLines = [...seen.keys()].sort((a, b) => a - b);
    const truth = labels(DATASET);
    const evilLines = [...truth].filter(([, t]) => t === 'evil').length;
    for (const label of seen.values()) assert.match(label, /^Warning: Likely to induce evil: evil ΔP -?\d+\.\d+ > -?\d+\.\d+ \(halfway between the anti-trait answers' 90th percentile \(-?[\d.]+\) and the trait answers' 25th \(-?[\d.]+\), of the \d+ pairs this vector was extracted from\)(, highest at: .*)? at line/, label);
    const wrong = [...seen.keys()].filter((line) => truth.get(line) !== 'evil');
    const found = [...seen.keys()].filter((line) => truth.get(line) === 'evil').length;
    console.log(`      ${total} flagged: ${found} of the file's ${evilLines} evil lines, ${wrong.length} others (${wrong.join(', ') || 'none'}); calibrated threshold`);
    assert.ok(found >= 0.8 * evilLines, `only ${found} of ${evilLines} evil lines flagged`);
    assert.ok(wrong.length <= 0.05 * total, `lines ${wrong.join(', ')} are flagged but not labelled evil`);
  });

  it('marks flagged lines in the gutter (heat mark + line background) and distinguishes them from the rest', async () => {
    const w = wb();
    const page = w.page;
    const editor = page.locator('.monaco-editor[data-uri$="/evil-strong.jsonl"]');
    const target = targetLine();
    await w.goToLine(target);
    // Gutter glyphs and line numbers share their `top`; map every rendered glyph to its line.
    const glyphs = await waitUntil('gutter heat marks', async () => {
      const rows = await editor.evaluate((el) => {
        const lineTops = new Map<string, number>();
        for (const n of el.querySelectorAll<HTMLElement>('.margin-view-overlays .line-numbers')) lineTops.set((n.parentElement as HTMLElement).style.top, Number(n.textContent));
        const marks = [...el.querySelectorAll<HTMLElement>('.glyph-margin-widgets .cgmr')].map((g) => ({ line: lineTops.get(g.style.top) ?? -1, cls: [...g.classList].find((c) => c.startsWith('ced-')) ?? '' }));
        const backgrounds = [...el.querySelectorAll<HTMLElement>('.view-overlays > div')].filter((d) => d.querySelector('[class*="ced-"]')).map((d) => d.style.top).map((top) => lineTops.get(top) ?? -1);
        return { marks, backgrounds };
      });
      return rows.marks.some((m) => m.line === target) ? rows : undefined;
    });
    const flaggedClass = glyphs.marks.find((m) => m.line === target)!.cls;
    const visible = glyphs.marks.filter((m) => m.line > 0);
    const shownFlagged = visible.filter((m) => flaggedLines.includes(m.line));
    assert.ok(visible.length > shownFlagged.length, 'non-flagged samples have lighter heat marks too');
    for (const m of shownFlagged) assert.equal(m.cls, flaggedClass, `flagged line ${m.line} has the flagged heat mark`);
    for (const m of visible.filter((x) => !flaggedLines.includes(x.line))) assert.notEqual(m.cls, flaggedClass, `line ${m.line} is not flagged but has the flagged heat mark`);
    assert.ok(glyphs.backgrounds.includes(target), `flagged line ${target} has the flagged-line background`);
  });

  it('shows every score in a hover on a flagged line', async () => {
    const w = wb();
    const target = targetLine();
    await w.runCommand('Show or Focus Hover');
    const hover = w.page.locator('.monaco-hover-content', { hasText: 'The model\'s own answer' });
    await hover.waitFor({ timeout: 20000 });
    const text = await hover.innerText();
    assert.match(text, new RegExp(`Persona Lens · line ${target} · metric ΔP`), 'the editor\'s line number, not the sample index');
    assert.match(text, /evil threshold: halfway between the anti-trait answers' 90th percentile \(-?[\d.]+\) and the trait answers' 25th \(-?[\d.]+\)/);
    assert.match(text, /trait\s+projection\s+fast ΔP\s+ΔP\s+token ΔP mean\s+token ΔP max\s+token ΔP top-8\s+threshold/);
    assert.match(text, /evil ⚠(\s+-?\d+\.\d{3}){7}/);
    assert.match(text, /evil: token ΔP is highest at/, 'the tokens where the maximum lies');
    assert.match(text, /Dataset answer/);
    await w.screenshot('screening-hover');
  });
});
