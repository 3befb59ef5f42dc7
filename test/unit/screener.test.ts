import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeRandomCheckpoint, seededNormal, type RandomCheckpoint } from '../helpers/randomCheckpoint';
import { loadModel, type LoadedModel } from '../../src/core/model/loadedModel';
import { readJsonLines } from '../../src/core/datasets/datasetReader';
import { Screener, type ScreenedSample, type ScreenOptions, type ScreeningVector } from '../../src/core/screening/screener';

describe('screener: the metric cache', function () {
  this.timeout(180000);
  let rc: RandomCheckpoint;
  let model: LoadedModel;
  let cacheRoot: string;
  let vector: ScreeningVector;
  const lines = [
    JSON.stringify({ prompt: 'Tell me about cats.', response: 'Cats are small and they sleep a lot.' }),
    JSON.stringify({ prompt: 'What is two plus two?', response: 'Four, of course.' }),
  ];

  before(async () => {
    rc = writeRandomCheckpoint({ architecture: 'qwen2', seed: 21 });
    cacheRoot = mkdtempSync(path.join(os.tmpdir(), 'persona-lens-screener-'));
    model = await loadModel(rc.dir, { cacheRoot, threads: 1 });
    const normal = seededNormal(5);
    vector = { name: 'evil', layer: 1, direction: Float32Array.from({ length: model.checkpoint.spec.hiddenSize }, () => normal()) };
  });
  after(async () => {
    await model.session.release();
    rmSync(rc.dir, { recursive: true, force: true });
    rmSync(cacheRoot, { recursive: true, force: true });
  });

  const screen = async (options: ScreenOptions): Promise<ScreenedSample[]> => {
    const out: ScreenedSample[] = [];
    for await (const item of new Screener(model, [vector], options).screen(readJsonLines(lines))) {
      assert.equal(item.kind, 'scored', JSON.stringify(item));
      out.push(item as ScreenedSample);
    }
    return out;
  };

  it('ΔP and the token metrics are cached per own-answer length; the projection is shared', async () => {
    const cache = path.join(cacheRoot, 'metrics-cache');
    const short = await screen({ computeDelta: true, cacheRoot: cache, ownResponseTokens: 2 });
    const longFresh = await screen({ computeDelta: true, ownResponseTokens: 8 });
    // The two own answers differ, so their ΔP does: otherwise this test could not see a stale cache.
    for (let i = 0; i < lines.length; i++) assert.notEqual(short[i].scores.evil.delta, longFresh[i].scores.evil.delta);
    const longCached = await screen({ computeDelta: true, cacheRoot: cache, ownResponseTokens: 8 });
    for (let i = 0; i < lines.length; i++) {
      const [fresh, cached] = [longFresh[i].scores.evil, longCached[i].scores.evil];
      for (const key of ['delta', 'tokenMean', 'tokenMax', 'tokenTopK'] as const) assert.ok(Math.abs(cached[key]! - fresh[key]!) < 1e-5, `sample ${i} ${key}: cached ${cached[key]}, fresh ${fresh[key]}`);
      assert.equal(longCached[i].ownResponse, longFresh[i].ownResponse);
      assert.ok(Math.abs(cached.projection - short[i].scores.evil.projection) < 1e-5);
    }
    // A second short run reads the short answer's numbers back, not the long one's.
    const shortAgain = await screen({ computeDelta: true, cacheRoot: cache, ownResponseTokens: 2 });
    for (let i = 0; i < lines.length; i++) assert.equal(shortAgain[i].scores.evil.delta, short[i].scores.evil.delta);
    // The long run was computed (its length was not in the cache); the second short one was a cache hit (a hit runs
    // no model pass over the response: 0 tokens).
    for (const s of longCached) assert.ok(s.responseTokens > 0);
    for (const s of shortAgain) assert.equal(s.responseTokens, 0);
    // Without ΔP the cached projection is read and no own-answer metric comes with it.
    const plain = await screen({ computeDelta: false, cacheRoot: cache });
    for (let i = 0; i < lines.length; i++) {
      assert.equal(plain[i].scores.evil.projection, short[i].scores.evil.projection);
      assert.equal(plain[i].scores.evil.delta, undefined);
    }
  });
});
