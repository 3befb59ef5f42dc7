/** The steering sweep judges a cell's answers concurrently (the layer search judges 12× more answers than generation makes batches) and keeps their order. */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { steeringSweep } from '../../src/core/extraction/steeringSweep';
import { readTraitFile } from '../../src/core/traits/traitFile';
import type { Judge, JudgeRequest, JudgeScore } from '../../src/core/judges/judge';
import { ORGANISM, useOrganism } from '../helpers/organism';

describe('steering sweep judging', function () {
  this.timeout(120000);
  const organism = useOrganism();

  it('judges every answer of a cell concurrently and returns the scores in the answers\' order', async () => {
    const trait = readTraitFile(path.join(ORGANISM, 'traits', 'evil.json'));
    const questions = trait.evaluationQuestions.slice(0, 6);
    let inFlight = 0;
    let maxInFlight = 0;
    const slowJudge: Judge = {
      id: 'test:slow',
      weak: false,
      async score(request: JudgeRequest): Promise<JudgeScore> {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        // Later questions answer sooner, so any reordering would show.
        const index = questions.indexOf(request.question);
        await new Promise((resolve) => setTimeout(resolve, 60 - index * 10));
        inFlight--;
        return { trait: index * 10, coherence: 100 - index };
      },
    };
    const vector = new Float32Array(organism.model.session.rows * organism.model.checkpoint.spec.hiddenSize);
    const [cell] = await steeringSweep(organism.model, slowJudge, { trait, vector, rows: [1], coefficients: [0], questions, maxTokens: 8 });
    assert.equal(maxInFlight, questions.length, 'all answers were being judged at once');
    assert.deepEqual(cell.samples.map((s) => s.question), questions);
    assert.deepEqual(cell.samples.map((s) => s.trait), [0, 10, 20, 30, 40, 50]);
    assert.equal(cell.meanTrait, 25);
  });
});
