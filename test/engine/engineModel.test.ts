import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EngineClient, EngineError } from '../../src/engine/client';
import { repoRoot } from '../helpers/mockVscode';
import { writeRandomCheckpoint, type RandomCheckpoint } from '../helpers/randomCheckpoint';

describe('engine process: models', function () {
  this.timeout(120000);
  let client: EngineClient;
  let rc: RandomCheckpoint;
  let cacheRoot: string;
  before(() => {
    rc = writeRandomCheckpoint({ architecture: 'llama', seed: 3 });
    cacheRoot = mkdtempSync(path.join(os.tmpdir(), 'persona-lens-engine-cache-'));
    client = new EngineClient({ enginePath: path.join(repoRoot, 'dist', 'engine.js'), cancelGraceMs: 5000 });
  });
  after(() => {
    client.dispose();
    rmSync(rc.dir, { recursive: true, force: true });
    rmSync(cacheRoot, { recursive: true, force: true });
  });

  it('loads a model and generates deterministically (greedy)', async () => {
    const summary = await client.request('loadModel', { modelPath: rc.dir, cacheRoot });
    assert.equal(summary.architecture, 'llama');
    const a = await client.request('generate', { modelPath: rc.dir, cacheRoot, prompt: 'Hello', maxTokens: 5 });
    const b = await client.request('generate', { modelPath: rc.dir, cacheRoot, prompt: 'Hello', maxTokens: 5 });
    assert.equal(a.tokens.length, 5);
    assert.deepEqual(a.tokens, b.tokens);
  });

  it('returns activations as typed arrays over IPC', async () => {
    const r = await client.request('activations', { modelPath: rc.dir, cacheRoot, text: 'Hello world' });
    assert.ok(r.hiddenStates instanceof Float32Array);
    assert.equal(r.hiddenStates.length, r.rows * r.seq * r.d);
  });

  it('cancels a long generation between tokens', async () => {
    const controller = new AbortController();
    const pending = client.request('generate', { modelPath: rc.dir, cacheRoot, prompt: 'Hello', maxTokens: 100000 }, {
      signal: controller.signal,
      onProgress: (p) => {
        if (p.done === 3) controller.abort();
      },
    });
    await assert.rejects(pending, (err: EngineError) => err.code === 'cancelled');
    const again = await client.request('generate', { modelPath: rc.dir, cacheRoot, prompt: 'Hi', maxTokens: 2 });
    assert.equal(again.tokens.length, 2);
  });

  it('a request for another model waits for the running one instead of releasing its model mid-run', async () => {
    const other = writeRandomCheckpoint({ architecture: 'qwen2', seed: 4 });
    try {
      const long = client.request('generate', { modelPath: rc.dir, cacheRoot, prompt: 'Hello', maxTokens: 60 });
      const meanwhile = client.request('activations', { modelPath: other.dir, cacheRoot, text: 'Hello world' });
      const [generated, activations] = await Promise.all([long, meanwhile]);
      assert.ok(generated.tokens.length > 0);
      assert.ok(activations.hiddenStates.length > 0);
      // and back: the first model loads again and gives the same greedy text
      assert.equal((await client.request('generate', { modelPath: rc.dir, cacheRoot, prompt: 'Hello', maxTokens: 60 })).text, generated.text);
    } finally {
      rmSync(other.dir, { recursive: true, force: true });
    }
  });

  it('reports a broken model folder as a failure with the reason, and keeps running', async () => {
    await assert.rejects(client.request('loadModel', { modelPath: path.join(rc.dir, 'nope'), cacheRoot }), (err: EngineError) => err.code === 'failed' && /is not a folder/.test(err.message));
    assert.equal((await client.request('info', {})).onnxruntime, '1.30.0');
  });
});
