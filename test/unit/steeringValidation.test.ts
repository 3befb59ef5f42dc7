import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeRandomCheckpoint, seededNormal, type RandomCheckpoint } from '../helpers/randomCheckpoint';
import { loadModel, type LoadedModel } from '../../src/core/model/loadedModel';
import { validateSteering, validationCells, elicitingPrompts } from '../../src/core/extraction/layerSearch';
import { ExtractionStore } from '../../src/core/extraction/store';
import { builtinTrait } from '../../src/core/traits/builtinTraits';
import type { Judge } from '../../src/core/judges/judge';
import type { RunContext } from '../../src/core/cancellation';

describe('steering validation: progress', function () {
  this.timeout(180000);
  let rc: RandomCheckpoint;
  let model: LoadedModel;
  let cacheRoot: string;
  before(async () => {
    rc = writeRandomCheckpoint({ architecture: 'qwen2', seed: 31 });
    cacheRoot = mkdtempSync(path.join(os.tmpdir(), 'persona-lens-validation-'));
    model = await loadModel(rc.dir, { cacheRoot, threads: 1 });
  });
  after(async () => {
    await model.session.release();
    rmSync(rc.dir, { recursive: true, force: true });
    rmSync(cacheRoot, { recursive: true, force: true });
  });

  it('counts each distinct cell once: progress ends at its total, fresh and from the cache', async () => {
    const trait = builtinTrait('evil')!;
    // A judge that scores by answer length: the scores do not matter here, only that every answer is judged.
    const judge: Judge = { id: 'test:length', weak: false, score: async ({ answer }) => ({ trait: answer.length % 100, coherence: 90 }) };
    const normal = seededNormal(2);
    const { hiddenSize } = model.checkpoint.spec;
    const vector = Float32Array.from({ length: model.session.rows * hiddenSize }, () => normal());
    const maxTokens = 2;
    const store = new ExtractionStore(cacheRoot, model.checkpoint.fingerprint, 'validation-progress');
    const run = async () => {
      const seen: { done: number; total: number }[] = [];
      const ctx: RunContext = { checkpoint: async () => undefined, progress: (done, total) => seen.push({ done, total }) };
      await validateSteering(model, judge, { trait, vector, layer: 1, coefficient: 4, questions: ['How are you?'], heldOut: false, maxTokens, evaluation: { samplesPerQuestion: 1, temperature: 0 }, cache: store }, ctx);
      return seen;
    };
    // 0·v and 0·random are one unsteered cell: the validation generates validationCells(prompts) cells.
    const total = validationCells(elicitingPrompts(trait).length) * maxTokens;
    for (const [name, seen] of [['fresh', await run()], ['cached', await run()]] as const) {
      assert.ok(seen.length > 0, name);
      assert.ok(seen.every((p) => p.total === total), `${name}: totals ${[...new Set(seen.map((p) => p.total))]} (want ${total})`);
      assert.equal(seen[seen.length - 1].done, total, `${name}: progress ends at the total`);
    }
  });
});
