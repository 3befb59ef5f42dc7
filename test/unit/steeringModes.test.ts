import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeRandomCheckpoint, seededNormal, type RandomCheckpoint } from '../helpers/randomCheckpoint';
import { loadModel, type LoadedModel } from '../../src/core/model/loadedModel';
import { buildRowIntervention } from '../../src/core/model/steering';
import { generate } from '../../src/core/model/generate';

describe('steering modes: positions and directional ablation', function () {
  this.timeout(120000);
  let rc: RandomCheckpoint;
  let model: LoadedModel;
  let cacheRoot: string;
  const d = 32;
  const rows = 3;
  before(async () => {
    rc = writeRandomCheckpoint({ architecture: 'qwen2', seed: 12 });
    cacheRoot = mkdtempSync(path.join(os.tmpdir(), 'persona-lens-steer-'));
    model = await loadModel(rc.dir, { cacheRoot, threads: 1 });
  });
  after(async () => {
    await model.session.release();
    rmSync(rc.dir, { recursive: true, force: true });
    rmSync(cacheRoot, { recursive: true, force: true });
  });

  it('ablation removes the direction from the residual stream at the ablated row', async () => {
    const normal = seededNormal(4);
    const u = Float32Array.from({ length: d }, () => normal());
    const iv = buildRowIntervention([{ vector: u, rows: [1], mode: 'ablate' }], rows, d);
    const out = await model.session.forward({ tokens: [[1, 2, 3, 4]], captureRows: [1], logits: 'none', intervention: { ablate: [iv.ablate] } });
    const h = out.hidden.get(1)!;
    const norm = Math.hypot(...u);
    for (let s = 0; s < 4; s++) {
      let dot = 0;
      for (let i = 0; i < d; i++) dot += (h[s * d + i] * u[i]) / norm;
      assert.ok(Math.abs(dot) < 1e-4, `position ${s}: component ${dot}`);
    }
    const plain = await model.session.forward({ tokens: [[1, 2, 3, 4]], captureRows: [1], logits: 'none' });
    let plainDot = 0;
    for (let i = 0; i < d; i++) plainDot += (plain.hidden.get(1)![i] * u[i]) / norm;
    assert.ok(Math.abs(plainDot) > 1e-2, 'the direction was present before ablation');
  });

  it('"generated" leaves the prompt alone (same first token), "prompt" and "all" steer it', async () => {
    const normal = seededNormal(8);
    const v = Float32Array.from({ length: d }, () => normal() * 20);
    const iv = buildRowIntervention([{ vector: v, rows: [1], coefficient: 1 }], rows, d);
    const prompt = [[9707, 11, 1879, 0]];
    const run = (positions?: 'all' | 'prompt' | 'generated', steer = true) =>
      generate(model.session, model.tokenizer, { prompts: prompt, maxTokens: 6, eosTokenIds: [], interventions: steer ? [iv] : undefined, positions });
    const plain = await run(undefined, false);
    const generated = await run('generated');
    const promptOnly = await run('prompt');
    const all = await run('all');
    assert.equal(generated.tokens[0][0], plain.tokens[0][0], 'the first token comes from the unsteered prompt');
    assert.notDeepEqual(generated.tokens[0], plain.tokens[0], 'later tokens are steered');
    assert.equal(promptOnly.tokens[0][0], all.tokens[0][0], 'prompt-only and all agree on the first token');
    assert.notEqual(all.tokens[0][0], plain.tokens[0][0], 'steering the prompt changes the first token');
  });

  it('a batch of different coefficients gives each row what it gets alone (sweeps run batched)', async () => {
    const normal = seededNormal(9);
    const v = Float32Array.from({ length: d }, () => normal() * 5);
    const ivs = [0, 1, -1].map((c) => buildRowIntervention([{ vector: v, rows: [2], coefficient: c }], rows, d));
    const prompts = [[9707, 11], [9707, 11], [9707, 11]];
    const batch = await generate(model.session, model.tokenizer, { prompts, maxTokens: 5, eosTokenIds: [], interventions: ivs });
    for (let b = 0; b < 3; b++) {
      const alone = await generate(model.session, model.tokenizer, { prompts: [prompts[b]], maxTokens: 5, eosTokenIds: [], interventions: [ivs[b]] });
      assert.deepEqual(batch.tokens[b], alone.tokens[0], `row ${b}`);
    }
  });
});
