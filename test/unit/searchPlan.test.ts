/**
 * Issue 18: the budgeted layer search's plan (pure), the question split, and the batching invariance the search
 * relies on (an answer does not depend on which cells share its batch).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { defaultCandidateRows, describeSearchPlan, planSearch, SearchBudgetError, type SearchPlanRequest } from '../../src/core/extraction/searchPlan';
import { splitEvaluationQuestions } from '../../src/core/extraction/layerSearch';
import { SteeringCells } from '../../src/core/extraction/steeringCells';
import { loadModel, type LoadedModel } from '../../src/core/model/loadedModel';
import type { Judge } from '../../src/core/judges/judge';
import type { TraitDefinition } from '../../src/core/traits/trait';
import { seededNormal, writeRandomCheckpoint, type RandomCheckpoint } from '../helpers/randomCheckpoint';

/** What the defaults planned before the budgeted search: every row × α 1,2,4, 20 questions × 3 answers, 128 tokens. */
function todaysDefault(layers: number): SearchPlanRequest {
  return { strategy: 'exhaustive', rows: layers, coefficients: 3, questions: 20, samplesPerQuestion: 3, maxTokens: 128, elicitingPrompts: 2 };
}
/** Today's defaults: budgeted, 10 of the 20 evaluation questions (the other 10 are the validation's), 64 tokens. */
function newDefault(layers: number): SearchPlanRequest {
  return { strategy: 'budgeted', rows: layers, coefficients: 3, questions: 10, samplesPerQuestion: 3, maxTokens: 64, elicitingPrompts: 2 };
}

describe('layer search plan (issue 18)', () => {
  it('the plan line gives the expected time as the progress line gives times', () => {
    const plan = planSearch(todaysDefault(28));
    // (84 · 4 + 3) cells × 60 answers × 128 tokens = 2 603 520 tokens: 2604 s at 1000 tokens/s.
    assert.equal(plan.plannedTokens, 2_603_520);
    assert.ok(describeSearchPlan(plan, 1000).endsWith('(about 43m 24s at the 1000 tokens/s the rollouts ran at)'), describeSearchPlan(plan, 1000));
    assert.doesNotMatch(describeSearchPlan(plan), /about/, 'no speed, no estimate');
  });

  it('the exhaustive plan is every row × α at the full evaluation: 2.6 M tokens for 28 layers', () => {
    const plan = planSearch(todaysDefault(28));
    assert.equal(plan.rounds.length, 1);
    assert.equal(plan.rounds[0].cells, 84);
    // 84 cells × 4 batches + 3 baseline batches, × 60 answers × 128 tokens.
    assert.equal(plan.plannedTokens, (84 * 4 + 3) * 60 * 128);
  });

  for (const layers of [24, 28, 32]) {
    it(`the default search for ${layers} layers plans ≤ 5 % of the old default's tokens`, () => {
      const before = planSearch(todaysDefault(layers)).plannedTokens;
      const now = planSearch(newDefault(layers));
      const share = now.plannedTokens / before;
      console.log(`      ${layers} layers: ${describeSearchPlan(now)} — ${(100 * share).toFixed(1)} % of ${before}`);
      assert.ok(share <= 0.05, `${(100 * share).toFixed(1)} %`);
      assert.equal(now.candidateRows, defaultCandidateRows(layers));
      // Rounds grow in answers and shrink in cells; the last one is the full evaluation of the finalists.
      for (let i = 1; i < now.rounds.length; i++) {
        assert.ok(now.rounds[i].cells < now.rounds[i - 1].cells);
        assert.ok(now.rounds[i].questions * now.rounds[i].samplesPerQuestion > now.rounds[i - 1].questions * now.rounds[i - 1].samplesPerQuestion);
      }
      assert.deepEqual([now.rounds.at(-1)!.questions, now.rounds.at(-1)!.samplesPerQuestion], [10, 3]);
      assert.ok(now.rounds.at(-1)!.cells >= 3 && now.rounds.at(-1)!.cells <= 6);
    });
  }

  it('a small model keeps every row; a few cells go straight to the full evaluation', () => {
    const organism = planSearch({ ...newDefault(5), coefficients: 5 });
    assert.equal(organism.candidateRows, 5);
    assert.deepEqual(organism.rounds.map((r) => r.cells), [25, 13, 7]);
    const tiny = planSearch({ ...newDefault(1), coefficients: 2 });
    assert.deepEqual(tiny.rounds.map((r) => [r.cells, r.questions, r.samplesPerQuestion]), [[2, 10, 3]]);
  });

  it('greedy evaluation (one answer per question) skips the round that would equal the final one', () => {
    const plan = planSearch({ ...newDefault(28), samplesPerQuestion: 1 });
    assert.deepEqual(plan.rounds.map((r) => [r.questions, r.samplesPerQuestion]), [[5, 1], [10, 1]]);
  });

  it('--budget-tokens takes fewer candidate rows until the plan fits, and says what would fit when nothing does', () => {
    const full = planSearch(newDefault(28));
    const capped = planSearch({ ...newDefault(28), budgetTokens: Math.floor(full.plannedTokens * 0.7) });
    assert.ok(capped.plannedTokens <= full.plannedTokens * 0.7);
    assert.ok(capped.candidateRows < full.candidateRows && capped.candidateRows >= 1);
    assert.throws(() => planSearch({ ...newDefault(28), budgetTokens: 1000 }), (e: unknown) => e instanceof SearchBudgetError && /even with one candidate row, over the budget of 1000: raise --budget-tokens/.test((e as Error).message));
    assert.throws(() => planSearch({ ...todaysDefault(28), budgetTokens: 1e6 }), /exhaustive layer search needs up to 2\.6 M .* use the budgeted search/);
  });

  it('refuses a plan with nothing to search', () => {
    assert.throws(() => planSearch({ ...newDefault(28), questions: 0 }), /at least one of its questions/);
  });

  it('the validation gets every other evaluation question, none of the search\'s', () => {
    const qs = Array.from({ length: 7 }, (_, i) => `q${i}`);
    const split = splitEvaluationQuestions(qs);
    assert.deepEqual(split.search, ['q0', 'q2', 'q4', 'q6']);
    assert.deepEqual(split.validation, ['q1', 'q3', 'q5']);
    assert.equal(split.heldOut, true);
    assert.deepEqual(splitEvaluationQuestions(['only']), { search: ['only'], validation: ['only'], heldOut: false });
  });
});

describe('steering cells batch together without changing an answer', function () {
  this.timeout(300000);
  let rc: RandomCheckpoint;
  let model: LoadedModel;
  let cacheRoot: string;
  before(async () => {
    rc = writeRandomCheckpoint({ architecture: 'qwen2', seed: 21 });
    cacheRoot = mkdtempSync(path.join(os.tmpdir(), 'persona-lens-cells-'));
    model = await loadModel(rc.dir, { cacheRoot, threads: 1 });
  });
  after(async () => {
    await model.session.release();
    rmSync(rc.dir, { recursive: true, force: true });
    rmSync(cacheRoot, { recursive: true, force: true });
  });

  it('the same cells measured one by one, and together in batches of 3, give the same answers', async () => {
    const d = model.checkpoint.spec.hiddenSize;
    const normal = seededNormal(5);
    const vector = Float32Array.from({ length: model.session.rows * d }, () => normal() * 4);
    const trait = { name: 't', description: '', instructions: [], extractionQuestions: [], evaluationQuestions: [], rubric: '' } as unknown as TraitDefinition;
    const seen: string[][] = [[], []];
    let run = 0;
    // The "judge" scores each answer by its length, and records every answer it saw.
    const judge: Judge = { id: 'recorder', weak: false, score: async ({ question, answer }) => (seen[run].push(`${question}→${answer}`), { trait: answer.length % 101, coherence: 50 }) };
    const cells = [
      { vector, row: 1, coefficient: 0 },
      { vector, row: 1, coefficient: 2 },
      { vector, row: 2, coefficient: -3, system: 'You are terse.' },
      { vector, row: 2, coefficient: 1 },
    ];
    const answers = { questions: ['Hello there', 'Tell me a story about a long road'], evaluation: { samplesPerQuestion: 2, temperature: 1, seed: 3 }, maxTokens: 6 };
    const alone: number[] = [];
    for (const c of cells) alone.push((await new SteeringCells(model, judge, trait, { maxBatch: 64 }).measure([c], answers))[0].meanTrait);
    run = 1;
    const together = (await new SteeringCells(model, judge, trait, { maxBatch: 3 }).measure(cells, answers)).map((c) => c.meanTrait);
    assert.deepEqual(together, alone);
    assert.deepEqual([...seen[1]].sort(), [...seen[0]].sort(), 'every answer is the same');
    assert.equal(new Set(seen[0]).size > 4, true, 'steering and seeds make distinct answers (the check is not vacuous)');
  });
});
