/** The panel's pure logic in plain Node: histogram bins, heat levels, top k, steering results → grid and chart, shift reports. */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { binCountFor, fixedHeatLevels, heatLevels, histogram, layerLabels, onReferenceScale, topK } from '../../webview/src/viewMath';
import { scoreChange, scoresMissing, shiftVerdict, shortModelLabel, signed } from '../../webview/src/shiftModel';
import { chartSeries, columnOrder, labRows, withCell } from '../../webview/src/steeringModel';
import type { SteeringLabCell, SteeringLabResults } from '../../src/protocol/panelProtocol';

describe('panel view logic (no DOM)', () => {
  it('histogram: equal-width bins that include the threshold, members per bin, every value counted once', () => {
    const values = [0, 0.1, 0.2, 0.9, 1.0, 5];
    const h = histogram(values, 5, 10);
    assert.equal(h.edges[0], 0);
    assert.equal(h.edges.at(-1), 10, 'widened to the threshold so its line is on the chart');
    assert.deepEqual(h.counts, [5, 0, 1, 0, 0]);
    assert.deepEqual(h.members[2], [5]);
    assert.equal(h.counts.reduce((a, b) => a + b), values.length);
    assert.deepEqual(histogram([3, 3], 4).counts.reduce((a, b) => a + b), 2, 'equal values still get a bin');
    assert.equal(histogram([1, 2, 3], 3).members[2].includes(2), true, 'the maximum is in the last bin');
    assert.equal(binCountFor(4), 5);
    assert.equal(binCountFor(400), 20);
    assert.equal(binCountFor(1e6), 30);
    // 200k values: no stack overflow from spreading into Math.min.
    assert.equal(histogram(Array.from({ length: 200000 }, (_, i) => i), 30).counts.reduce((a, b) => a + b), 200000);
  });

  it('heat levels run 0…1 from the smallest to the largest projection; top k is largest first', () => {
    assert.deepEqual(heatLevels([2, 4, 3]), { levels: [0, 1, 0.5], min: 2, max: 4 });
    assert.deepEqual(heatLevels([1, 1]).levels, [0, 0]);
    assert.deepEqual(topK([1, 9, 3, 9, 0], 3), [1, 3, 2]);
  });

  it('monitor on a fixed reference scale: the same text gets the same bar and colours whatever was typed before', () => {
    const reference = { antiEliciting: 2, eliciting: 6 };
    assert.equal(onReferenceScale(2, reference), 0, 'where the anti-trait prompts sat');
    assert.equal(onReferenceScale(6, reference), 1, 'where the trait prompts sat');
    assert.equal(onReferenceScale(4, reference), 0.5);
    // Text A's tokens, alone and after a very different text B: per-text scaling moves their colours, the fixed scale does not.
    const a = [3, 5, 4];
    const b = [-10, 30];
    assert.notDeepEqual(heatLevels([...b, ...a]).levels.slice(2), heatLevels(a).levels, 'per-text scaling depends on the rest of the text');
    assert.deepEqual(fixedHeatLevels([...b, ...a], reference).levels.slice(2), fixedHeatLevels(a, reference).levels);
    assert.deepEqual(fixedHeatLevels(a, reference), { levels: [0.25, 0.75, 0.5], min: 2, max: 6 });
    assert.deepEqual(fixedHeatLevels(b, reference).levels, [0, 1], 'values outside the scale clamp');
  });

  const cell = (series: 'vector' | 'random', coefficient: number, meanTrait: number | null, vectorPath = '/v/evil'): SteeringLabCell => ({ vectorPath, trait: vectorPath.endsWith('evil') ? 'evil' : 'syc', series, layer: 3, coefficient, meanTrait, meanCoherence: 90, samples: [] });
  const empty: SteeringLabResults = {
    format: 'persona-lens/steering-lab@1', created: '', model: 'm', judge: 'j', complete: false, cells: [],
    settings: { prompt: 'p', vectorPaths: ['/v/syc', '/v/evil'], layer: 3, coefficientMin: 1, coefficientMax: 2, steps: 2, samplesPerPoint: 1, temperature: 0, seed: 0, maxTokens: 8, randomControl: true },
  };

  it('steering results: cells stream in (a repeat replaces), the baseline column comes first, rows follow the settings', () => {
    let r = empty;
    for (const c of [cell('vector', 2, 80), cell('vector', 0, 0), cell('random', 1, 0), cell('vector', 1, 30), cell('vector', 0, 5, '/v/syc'), cell('vector', 1, 30)]) r = withCell(r, c);
    assert.equal(r.cells.length, 5);
    assert.deepEqual(columnOrder([2, 1, 0, -1, 1]), [0, -1, 1, 2]);
    assert.deepEqual(labRows(r).map((x) => `${x.trait}/${x.series}`), ['syc/vector', 'evil/vector', 'evil/random']);
    const series = chartSeries(r);
    assert.deepEqual(series.map((s) => s.label), ['syc: trait score', 'syc: coherence', 'evil: trait score', 'evil: coherence', 'evil: random direction (control)']);
    assert.deepEqual(series[2].points, [{ x: 0, y: 0 }, { x: 1, y: 30 }, { x: 2, y: 80 }], 'ascending α');
    assert.deepEqual(series[4].points, [{ x: 0, y: 0 }, { x: 1, y: 0 }], 'the random control starts at the shared baseline');
    // A cell the judge declined entirely has no point (null is not 0).
    assert.deepEqual(chartSeries(withCell(r, cell('vector', 3, null)))[2].points.map((p) => p.x), [0, 1, 2]);
  });

  it('shift reports: short model labels, signed numbers, the verdict against the random control, score changes', () => {
    assert.equal(shortModelLabel('/ws/models/organism-finetuned/plain'), 'organism-finetuned/plain');
    assert.equal(shortModelLabel('C:\\models\\base'), 'models/base');
    assert.equal(shortModelLabel('/m/base + /runs/lora/adapter'), 'm/base + lora/adapter', 'a LoRA adapter keeps both sides');
    assert.equal(shortModelLabel('organism'), 'organism');
    assert.deepEqual([signed(5.888), signed(-1.2), signed(0), signed(0.001), signed(-0.001)], ['+5.89', '-1.20', '0.00', '0.00', '0.00']);
    assert.deepEqual(layerLabels(4), ['emb', 'L1', 'L2', 'L3']);
    // The organism's plain evil fine-tune: 3.8× the control, toward the trait.
    const evil = shiftVerdict({ trait: 'evil', shift: 5.888, randomShift: 1.566 });
    assert.equal(evil.beyond, true);
    assert.equal(evil.direction, 'toward');
    assert.ok(Math.abs(evil.ratio - 5.888 / 1.566) < 1e-12);
    assert.equal(evil.text, '3.8× the random control: the fine-tune moved the model toward evil.');
    assert.equal(shiftVerdict({ trait: 'evil', shift: -4, randomShift: 1 }).direction, 'away');
    const within = shiftVerdict({ trait: 'evil', shift: -0.5, randomShift: 1.5 });
    assert.deepEqual([within.beyond, within.direction], [false, 'none']);
    assert.match(within.text, /^within the random control \(0\.3×\)/);
    assert.equal(shiftVerdict({ trait: 'evil', shift: 0, randomShift: 0 }).beyond, false);
    assert.equal(shiftVerdict({ trait: 'evil', shift: 2, randomShift: 0 }).ratio, Infinity);
    assert.deepEqual(scoreChange({ trait: 0, coherence: 100 }, { trait: 40, coherence: 97.5 }, 'trait'), { base: '0.0', tuned: '40.0', delta: 40 });
    assert.deepEqual(scoreChange({ trait: null, coherence: 100 }, { trait: 40, coherence: 97.5 }, 'trait'), { base: '–', tuned: '40.0' }, 'no delta without both');
    assert.deepEqual(scoreChange(undefined, undefined, 'coherence'), { base: '–', tuned: '–' });
    const t = { trait: 'evil', layer: 1, shift: 1, randomShift: 1, perLayer: [0, 1], perLayerRandom: [0, 1], activationChange: 1 };
    const scores = { trait: 1, coherence: 2 };
    assert.equal(scoresMissing({ base: 'a', tuned: 'b', questions: 1, traits: [{ ...t, base: scores, tuned: scores }] }), false);
    assert.equal(scoresMissing({ base: 'a', tuned: 'b', questions: 1, traits: [{ ...t, base: scores }] }), true);
    assert.equal(scoresMissing({ base: 'a', tuned: 'b', questions: 1, traits: [{ ...t, base: scores, tuned: { trait: null, coherence: 2 } }] }), true);
  });

  it('the page imports only the panel protocol from src/ (layers: webview → protocol → core)', () => {
    const dir = path.join(__dirname, '..', '..', 'webview', 'src');
    const imports = readdirSync(dir).filter((f) => f.endsWith('.ts')).flatMap((f) => [...readFileSync(path.join(dir, f), 'utf8').matchAll(/from '(\.\.\/\.\.\/src\/[^']+)'/g)].map((m) => `${f}: ${m[1]}`));
    assert.ok(imports.length > 0);
    assert.deepEqual(imports.filter((i) => !i.endsWith(': ../../src/protocol/panelProtocol')), []);
  });
});
