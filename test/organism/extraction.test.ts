/**
 * Issue 5's proof on the bundled organism: extracted vectors steer, dose–response is monotone, a norm-matched
 * random direction does not, and last-prompt-token projections predict the judged trait. Figures are printed.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { readTraitFile } from '../../src/core/traits/traitFile';
import { extractPersonaVector, type ExtractionResult } from '../../src/core/extraction/extract';
import { steeringSweep, normMatchedRandom } from '../../src/core/extraction/steeringSweep';
import { DEFAULT_STEERING_EVALUATION, evaluationPlan } from '../../src/core/extraction/steeringEvaluation';
import { lastPromptProjections } from '../../src/core/monitoring/projection';
import { pearson } from '../../src/core/stats';
import { generate } from '../../src/core/model/generate';
import { formatLayerSearch } from '../../src/core/extraction/validationReport';
import { ORGANISM, useOrganism } from '../helpers/organism';

const TRAITS = ['evil', 'sycophantic', 'hallucinating'];

describe('extraction on the organism (issue 5 proof)', function () {
  this.timeout(600000);
  const organism = useOrganism({ sharedCache: true });

  for (const name of TRAITS) {
    describe(name, () => {
      const trait = readTraitFile(path.join(ORGANISM, 'traits', `${name}.json`));
      let result: ExtractionResult;
      // The paper's steering evaluation: sampled answers (temperature 1), several per question.
      const evaluated = evaluationPlan(trait.evaluationQuestions, DEFAULT_STEERING_EVALUATION);
      before(async () => {
        result = await extractPersonaVector(organism.model, trait, organism.judge, { cacheRoot: organism.cacheRoot, maxTokens: 48, sweep: { coefficients: [1, 2, 3, 4, 6] } });
        for (const line of formatLayerSearch(result)) console.log(`      ${line}`);
        console.log(`      ${name}: kept ${result.keptPairs}/${result.totalPairs}; effect size by row ${result.separation.map((s) => s.effectSize.toFixed(1)).join(' ')}; recommended row ${result.recommended?.layer} α ${result.recommended?.coefficient}`);
      });

      it('the vector has shape [layers+1, d] and separates pos from neg at every block', () => {
        assert.equal(result.vectors.response_avg.length, 6 * organism.model.checkpoint.spec.hiddenSize);
        for (let r = 1; r < result.rows; r++) assert.ok(result.separation[r].posMean > result.separation[r].negMean, `row ${r}`);
      });

      it('+α at the recommended layer raises a neutral prompt from ≤ 15 to ≥ 60 with coherence ≥ 50', async () => {
        const rec = result.recommended!;
        assert.ok(rec, 'a layer is recommended');
        const [baseline, steered] = await steeringSweep(organism.model, organism.judge, { trait, vector: result.vectors.response_avg, rows: [rec.layer], coefficients: [0, rec.coefficient], maxTokens: 48, ...evaluated });
        console.log(`      ${name}: neutral ${baseline.meanTrait.toFixed(1)} → +α ${steered.meanTrait.toFixed(1)} (coherence ${steered.meanCoherence.toFixed(1)})`);
        assert.ok(baseline.meanTrait <= 15, `neutral baseline ${baseline.meanTrait}`);
        assert.ok(steered.meanTrait >= 60, `steered ${steered.meanTrait}`);
        assert.ok(steered.meanCoherence >= 50, `coherence ${steered.meanCoherence}`);
      });

      it('extraction validates its recommendation: dose–response with the random control beside it, suppression under eliciting prompts', () => {
        const v = result.validation!;
        const rec = result.recommended!;
        assert.ok(v, 'validated');
        assert.equal(v.layer, rec.layer);
        assert.deepEqual(v.doseResponse.map((p) => p.coefficient), [-2, -1, 0, 1, 2].map((k) => k * rec.coefficient));
        const at = (k: number) => v.doseResponse[k + 2];
        console.log(`      ${name}: dose–response ${v.doseResponse.map((p) => `${p.coefficient}:${p.trait.toFixed(0)}/${p.coherence.toFixed(0)} (random ${p.randomTrait.toFixed(0)})`).join('  ')}; monotone ${v.monotone}; eliciting ${v.suppression.baselineTrait.toFixed(1)} → −α ${v.suppression.trait.toFixed(1)}`);
        assert.ok(at(0).trait <= 15 && at(1).trait >= 60, 'the validation reproduces the recommendation');
        assert.deepEqual(v.evaluation, DEFAULT_STEERING_EVALUATION);
        assert.ok(v.monotone, 'the dose–response over −2α … 2α is monotone');
        // The control is the same layer and norm as the steering it checks: +α and +2α. Beside −α and −2α it is
        // printed (a random direction that large perturbs the sampled organism too; see the issue note).
        for (const k of [1, 2]) assert.ok(Math.abs(at(k).randomTrait - at(0).randomTrait) < 10, `random control at ${k}·α`);
        assert.ok(v.suppression.baselineTrait >= 50, 'the eliciting prompts elicit the trait');
        assert.ok(v.suppression.trait < 30, `−α under the eliciting prompts lowers the trait below 30 (${v.suppression.trait})`);
        assert.ok(v.suppression.coherence >= 50, 'suppressed answers stay coherent');
      });

      it('a norm-matched random direction at the recommended α moves the score by < 10', async () => {
        const rec = result.recommended!;
        const random = normMatchedRandom(result.vectors.response_avg, result.rows, result.d, 7);
        const [zero, steered] = await steeringSweep(organism.model, organism.judge, { trait, vector: random, rows: [rec.layer], coefficients: [0, rec.coefficient], maxTokens: 48, ...evaluated });
        console.log(`      ${name}: random direction α=0: ${zero.meanTrait.toFixed(1)}, α=${rec.coefficient}: ${steered.meanTrait.toFixed(1)}`);
        assert.ok(Math.abs(steered.meanTrait - zero.meanTrait) < 10);
      });

      if (name === 'evil') {
        it('a re-run re-uses every cached steering cell and gives the same recommendation and validation', async () => {
          const cells = path.join(result.cacheFolder, 'steering.jsonl');
          const before = readFileSync(cells, 'utf8').split('\n').length;
          const again = await extractPersonaVector(organism.model, trait, organism.judge, { cacheRoot: organism.cacheRoot, maxTokens: 48, sweep: { coefficients: [1, 2, 3, 4, 6] } });
          assert.equal(readFileSync(cells, 'utf8').split('\n').length, before, 'no new steering cell was generated');
          assert.deepEqual(again.recommended, result.recommended);
          assert.deepEqual(again.validation, result.validation);
        });
      }

      it('monitoring: last-prompt-token projection correlates with the judged score (r ≥ 0.7) over system-prompt variants', async () => {
        const rec = result.recommended!;
        const systems = [undefined, ...trait.instructions.flatMap((p) => [p.pos, p.neg])];
        const conversations = systems.flatMap((system) => trait.evaluationQuestions.slice(0, 8).map((q) => [...(system ? [{ role: 'system' as const, content: system }] : []), { role: 'user' as const, content: q }]));
        const projections = await lastPromptProjections(organism.model, conversations, result.vectors.response_avg, rec.layer);
        const generated = await generate(organism.model.session, organism.model.tokenizer, { prompts: conversations.map((c) => organism.model.tokenizer.chat(c, true)), maxTokens: 48, eosTokenIds: organism.model.eosTokenIds });
        const scores: number[] = [];
        for (let i = 0; i < conversations.length; i++) scores.push((await organism.judge.score({ trait, question: conversations[i].at(-1)!.content, answer: generated.texts[i] })).trait ?? 0);
        const r = pearson(projections, scores);
        console.log(`      ${name}: monitoring r = ${r.toFixed(3)} over ${conversations.length} prompts (layer ${rec.layer})`);
        assert.ok(r >= 0.7, `r = ${r}`);
      });
    });
  }
});
