/**
 * Issue 15's proof on the organism: at int8 and int4 weights, each trait's extracted vector stays within cosine
 * 0.95 of the float32 one at the recommended row, and steering with it still raises the lexicon score from ≤ 15 to
 * ≥ 60. The float32 extraction is the one extraction.test.ts makes (shared cache, same options).
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { readTraitFile } from '../../src/core/traits/traitFile';
import { extractPersonaVector, type ExtractionResult } from '../../src/core/extraction/extract';
import { steeringSweep } from '../../src/core/extraction/steeringSweep';
import { DEFAULT_STEERING_EVALUATION, evaluationPlan } from '../../src/core/extraction/steeringEvaluation';
import { splitEvaluationQuestions } from '../../src/core/extraction/layerSearch';
import { loadModel, type LoadedModel } from '../../src/core/model/loadedModel';
import { QUANTIZER_VERSION } from '../../src/core/model/quantize';
import { ORGANISM, ORGANISM_COEFFICIENTS, useOrganism } from '../helpers/organism';
import { cosine } from '../helpers/cosine';

const TRAITS = ['evil', 'sycophantic', 'hallucinating'];

const cosineAtRow = (a: Float32Array, b: Float32Array, row: number, d: number) => cosine(a, b, row * d, (row + 1) * d);

describe('quantized weights on the organism (issue 15 proof)', function () {
  this.timeout(900000);
  const organism = useOrganism({ sharedCache: true });
  const float32 = new Map<string, ExtractionResult>();

  before(async () => {
    for (const name of TRAITS) {
      const trait = readTraitFile(path.join(ORGANISM, 'traits', `${name}.json`));
      float32.set(name, await extractPersonaVector(organism.model, trait, organism.judge, { cacheRoot: organism.cacheRoot, maxTokens: 48, sweep: { coefficients: ORGANISM_COEFFICIENTS } }));
    }
  });

  for (const weights of ['int8', 'int4'] as const) {
    describe(weights, () => {
      let model: LoadedModel;
      before(async () => {
        model = await loadModel(ORGANISM, { cacheRoot: organism.cacheRoot, weights });
      });
      after(async () => model?.session.release());

      it('is its own model in every cache (precision in the fingerprint)', () => {
        assert.equal(model.precision, weights);
        assert.equal(model.checkpoint.fingerprint, `${organism.model.checkpoint.fingerprint}-${weights}-q${QUANTIZER_VERSION}`);
      });

      for (const name of TRAITS) {
        it(`${name}: the vector is within cosine 0.95 of float32 at the recommended row, and steering with it raises ≤ 15 to ≥ 60`, async () => {
          const trait = readTraitFile(path.join(ORGANISM, 'traits', `${name}.json`));
          const reference = float32.get(name)!;
          const rec = reference.recommended!;
          const result = await extractPersonaVector(model, trait, organism.judge, { cacheRoot: organism.cacheRoot, maxTokens: 48, sweep: false });
          const d = model.checkpoint.spec.hiddenSize;
          const cos = cosineAtRow(result.vectors.response_avg, reference.vectors.response_avg, rec.layer, d);
          // On the questions the layer search did not use, with seeds it did not use; 12 answers per question (not
          // the default 3): with 3, two graphs equal to 1e-6 read 57.5 and 65.0 for the same cell (sampling noise).
          const evaluated = evaluationPlan(splitEvaluationQuestions(trait.evaluationQuestions).validation, { ...DEFAULT_STEERING_EVALUATION, samplesPerQuestion: 12, seed: 5003 });
          const [baseline, steered] = await steeringSweep(model, organism.judge, { trait, vector: result.vectors.response_avg, rows: [rec.layer], coefficients: [0, rec.coefficient], maxTokens: 48, ...evaluated });
          console.log(`      ${weights} ${name}: cosine to float32 at row ${rec.layer} ${cos.toFixed(4)}; neutral ${baseline.meanTrait.toFixed(1)} → +${rec.coefficient}·v ${steered.meanTrait.toFixed(1)} (coherence ${steered.meanCoherence.toFixed(1)})`);
          assert.ok(cos >= 0.95, `cosine ${cos}`);
          assert.ok(baseline.meanTrait <= 15, `neutral baseline ${baseline.meanTrait}`);
          assert.ok(steered.meanTrait >= 60, `steered ${steered.meanTrait}`);
        });
      }
    });
  }
});
