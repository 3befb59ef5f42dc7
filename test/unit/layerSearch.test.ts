import assert from 'node:assert/strict';
import { carriedOn, recommend, type LayerSearch } from '../../src/core/extraction/layerSearch';
import { describeEvaluation, evaluationPlan } from '../../src/core/extraction/steeringEvaluation';
import type { SweepCell } from '../../src/core/extraction/steeringSweep';
import { formatLayerSearch, formatValidation } from '../../src/core/extraction/validationReport';

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

  it('does not prefer a cell that does nothing just because its random direction does nothing either', () => {
    // α small enough to change nothing is always "specific"; it must not beat a real effect with a noisy control.
    const idle = cell(1, 0.5, 11, 100, 10, 94);
    const strong = cell(3, 3, 95, 80, 24, 10);
    const rec = recommend(search([idle, strong]), 50)!;
    assert.equal(rec.layer, 3);
    assert.equal(rec.specific, false);
  });

  it('leaves out cells the judge gave no score (NaN) instead of ranking them', () => {
    const declined = cell(2, 3, Number.NaN, 90, 10, 0);
    const noControl = cell(3, 3, 90, 90, Number.NaN, 0);
    const fine = cell(4, 3, 60, 90, 10, 30);
    assert.equal(recommend(search([declined, noControl, fine]), 50)!.layer, 4);
    assert.equal(recommend(search([declined]), 50), undefined);
  });

  it('breaks ties toward the smaller α, then the earlier layer', () => {
    const rec = recommend(search([cell(3, 4, 70, 90, 10, 35), cell(5, 2, 70, 90, 10, 35), cell(2, 2, 70, 90, 10, 35)]), 50)!;
    assert.deepEqual([rec.layer, rec.coefficient], [2, 2]);
  });

  it('an elimination round carries cells on by score, with a coherence bar lowered for its few answers', () => {
    const roughlyCoherent = cell(4, 3, 90, 39, 10, 10); // 39 on 10 answers: within noise of 50
    const incoherent = cell(2, 6, 99, 10, 10, 0);
    const unspecific = cell(3, 2, 80, 90, 30, 20); // its control moved 20: not preferred, but ranked by score here
    const weak = cell(1, 1, 30, 100, 10, 80);
    assert.deepEqual(carriedOn(search([weak, incoherent, unspecific, roughlyCoherent]), 50, 10).map((c) => c.row), [4, 3, 1]);
    // The bar rises with the answers: coherence 30 is within noise on 5 answers, not on 30.
    const shaky = cell(5, 4, 90, 30, 10, 10);
    assert.deepEqual(carriedOn(search([shaky, weak]), 50, 5).map((c) => c.row), [5, 1]);
    assert.deepEqual(carriedOn(search([shaky, weak]), 50, 30).map((c) => c.row), [1]);
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

  it('describes itself the same way everywhere (CLI, panel, report)', () => {
    assert.equal(describeEvaluation({ samplesPerQuestion: 3, temperature: 1 }), '3 sampled answers per question at temperature 1');
    assert.equal(describeEvaluation({ samplesPerQuestion: 1, temperature: 0.7 }), '1 sampled answer per question at temperature 0.7');
    assert.equal(describeEvaluation(undefined), 'greedy answers, one per question');
  });
});

describe('layer search report', () => {
  it('prints – for scores the judge never gave instead of failing (they are stored as null)', () => {
    const nulls = JSON.parse(JSON.stringify({ v: Number.NaN })).v as number;
    const lines = formatLayerSearch({ sweep: [{ ...cell(1, 2, nulls, 90, nulls, nulls), samples: undefined as never }], sweepBaseline: { baseline: { trait: nulls, coherence: 100 }, elicited: { trait: 90, coherence: 90 } }, recommended: undefined, validation: undefined });
    assert.match(lines.join('\n'), /unsteered: neutral\s+–,/);
    assert.match(lines.at(-1)!, /no layer recommended/);
    const validation = formatValidation({ layer: 1, coefficient: 2, doseResponse: [{ coefficient: 2, trait: nulls, coherence: nulls, randomTrait: 5, randomCoherence: 90 }], suppression: { prompts: 2, baselineTrait: 90, trait: nulls, coherence: nulls }, monotone: false });
    assert.match(validation.join('\n'), /greedy answers, one per question/);
    assert.match(validation.at(-1)!, /90\.0 →\s+– at −α \(coherence –\)/);
  });

  it('flags a recommendation that is weak or not specific', () => {
    const base = { sweep: [cell(1, 2, 20, 90, 12, 85)], sweepBaseline: undefined, validation: undefined };
    assert.match(formatLayerSearch({ ...base, recommended: { layer: 1, coefficient: 2, meanTrait: 20, meanCoherence: 90, controlTrait: 12, suppressedTrait: 85, score: 8, specific: true } }).at(-1)!, /WEAK/);
    assert.match(formatLayerSearch({ ...base, recommended: { layer: 1, coefficient: 2, meanTrait: 90, meanCoherence: 90, controlTrait: 40, suppressedTrait: 5, score: 50, specific: false } }).at(-1)!, /NOT specific/);
  });
});
