import assert from 'node:assert/strict';
import { evaluationPlan, recommend, type LayerSearch } from '../../src/core/extraction/layerSearch';
import type { SweepCell } from '../../src/core/extraction/steeringSweep';

function cell(row: number, coefficient: number, trait: number, coherence: number, control: number, suppressed: number, suppressedCoherence = 90): SweepCell {
  return { row, coefficient, meanTrait: trait, meanCoherence: coherence, control, suppressed: { trait: suppressed, coherence: suppressedCoherence }, samples: [] };
}

const search = (cells: SweepCell[]): LayerSearch => ({ baseline: { trait: 10, coherence: 100 }, elicited: { trait: 95, coherence: 95 }, cells });

describe('layer search recommendation', () => {
  it('prefers the cell that controls the trait in both directions over the one that only induces it', () => {
    const rec = recommend(search([cell(2, 3, 90, 80, 12, 70), cell(4, 3, 75, 80, 11, 20)]), 50)!;
    // Row 2 induces more (78 over control) but suppresses little (95 → 70: 25); row 4: min(64, 75) = 64.
    assert.equal(rec.layer, 4);
    assert.equal(rec.score, 64);
    assert.equal(rec.suppressedTrait, 20);
    assert.equal(rec.specific, true);
  });

  it('skips cells that lose coherence in either direction', () => {
    const rec = recommend(search([cell(1, 4, 99, 30, 10, 0), cell(1, 2, 60, 90, 10, 5, 20), cell(2, 2, 50, 90, 10, 40)]), 50)!;
    assert.deepEqual([rec.layer, rec.coefficient], [2, 2]);
  });

  it('prefers a specific cell: a random direction that moves the score by ≥ 10 disqualifies until nothing else is left', () => {
    const unspecific = cell(3, 3, 95, 90, 40, 0);
    const specific = cell(4, 3, 60, 90, 12, 30);
    assert.equal(recommend(search([unspecific, specific]), 50)!.layer, 4);
    const fallback = recommend(search([unspecific]), 50)!;
    assert.equal(fallback.layer, 3);
    assert.equal(fallback.specific, false);
  });

  it('breaks ties toward the smaller α, then the earlier layer', () => {
    const rec = recommend(search([cell(3, 4, 70, 90, 10, 35), cell(5, 2, 70, 90, 10, 35), cell(2, 2, 70, 90, 10, 35)]), 50)!;
    assert.deepEqual([rec.layer, rec.coefficient], [2, 2]);
  });

  it('recommends nothing when no cell is coherent', () => {
    assert.equal(recommend(search([cell(1, 1, 80, 10, 10, 0)]), 50), undefined);
    assert.equal(recommend(search([]), 50), undefined);
  });
});

describe('steering evaluation plan', () => {
  it('repeats each question once per sampled answer, with a seed', () => {
    const plan = evaluationPlan(['a', 'b'], { samplesPerQuestion: 3, temperature: 1 });
    assert.deepEqual(plan.questions, ['a', 'a', 'a', 'b', 'b', 'b']);
    assert.equal(plan.sampling?.temperature, 1);
    assert.equal(typeof plan.sampling?.seed, 'number');
  });

  it('is greedy with one answer per question at temperature 0', () => {
    const plan = evaluationPlan(['a', 'b'], { samplesPerQuestion: 5, temperature: 0 });
    assert.deepEqual(plan.questions, ['a', 'b']);
    assert.equal(plan.sampling, undefined);
  });
});
