import assert from 'node:assert/strict';
import * as path from 'node:path';
import * as os from 'node:os';
import { EngineClient, EngineError } from '../../src/engine/client';
import { repoRoot } from '../helpers/mockVscode';

const enginePath = path.join(repoRoot, 'dist', 'engine.js');

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<EngineError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof EngineError, `expected EngineError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return err;
  }
  assert.fail(`expected the request to fail with ${code}`);
}

describe('engine process (real fork of dist/engine.js)', function () {
  this.timeout(90000);
  let client: EngineClient;
  const exits: string[] = [];

  beforeEach(() => {
    exits.length = 0;
    client = new EngineClient({ enginePath, cancelGraceMs: 2000, onUnexpectedExit: (m) => exits.push(m) });
  });
  afterEach(() => client.dispose());

  it('is not started until the first request, then answers it', async () => {
    assert.equal(client.isRunning, false);
    const info = await client.request('info', {});
    assert.equal(info.onnxruntime, '1.30.0');
    assert.equal(info.pid, client.pid);
    assert.notEqual(info.pid, process.pid, 'inference runs in another process');
  });

  it('runs a request with progress and a correct result', async () => {
    const progress: number[] = [];
    const result = await client.request('selfCheck', { runs: 5, size: 128 }, { onProgress: (p) => progress.push(p.done) });
    assert.deepEqual(progress, [1, 2, 3, 4, 5]);
    assert.ok(result.maxAbsError < 1e-4);
  });

  it('cancels a request between runs without restarting the engine', async () => {
    await client.request('info', {});
    const pid = client.pid;
    const controller = new AbortController();
    const running = client.request('selfCheck', { runs: 100000, size: 64 }, {
      signal: controller.signal,
      onProgress: (p) => {
        if (p.done === 3) controller.abort();
      },
    });
    await rejectsWith(running, 'cancelled');
    assert.equal(client.pid, pid, 'a cooperative cancel keeps the same process');
    const after = await client.request('selfCheck', { runs: 1, size: 32 });
    assert.equal(after.runs, 1);
  });

  it('kills the engine when a run outlasts the cancel grace period, and the next request restarts it', async () => {
    const slow = new EngineClient({ enginePath, cancelGraceMs: 100 });
    try {
      await slow.request('info', {});
      const firstPid = slow.pid;
      const controller = new AbortController();
      // One run of this size takes seconds, blocking the engine's event loop like a long model run.
      const running = slow.request('selfCheck', { runs: 2, size: 1024, rows: 1024, depth: 24 }, { signal: controller.signal });
      setTimeout(() => controller.abort(), 300);
      const err = await rejectsWith(running, 'killed');
      assert.match(err.message, /did not stop within 100 ms/);
      const info = await slow.request('info', {});
      assert.notEqual(info.pid, firstPid, 'a new engine process answers');
    } finally {
      slow.dispose();
    }
  });

  it('survives the engine being killed mid-run from outside: pending request fails as crashed, next succeeds', async () => {
    await client.request('info', {});
    const pid = client.pid!;
    const running = client.request('selfCheck', { runs: 100000, size: 64 }, {
      onProgress: (p) => {
        if (p.done === 2) process.kill(pid, 'SIGKILL');
      },
    });
    const err = await rejectsWith(running, 'crashed');
    assert.match(err.message, /killed by SIGKILL.*restarts on the next request/);
    assert.equal(exits.length, 1);
    const info = await client.request('info', {});
    assert.notEqual(info.pid, pid);
  });

  it('kill() stops a running request at once and the next request succeeds', async () => {
    const running = client.request('selfCheck', { runs: 100000, size: 64 }, {
      onProgress: (p) => {
        if (p.done === 2) client.kill('stopped by test');
      },
    });
    const err = await rejectsWith(running, 'killed');
    assert.equal(err.message, 'stopped by test');
    assert.equal(exits.length, 0, 'an intended kill is not reported as a crash');
    const result = await client.request('selfCheck', { runs: 1, size: 16 });
    assert.equal(result.runs, 1);
  });

  it('answers bad params and unknown methods with badRequest, and stays up', async () => {
    await rejectsWith(client.request('selfCheck', { runs: -1 }), 'badRequest');
    await rejectsWith(client.request('nope' as 'info', {}), 'badRequest');
    assert.equal((await client.request('info', {})).onnxruntime, '1.30.0');
  });

  it('checks every method\'s params on arrival, naming the field; what fails after that is "failed", not badRequest', async () => {
    const bad: [Parameters<typeof client.request>[0], unknown, RegExp][] = [
      ['generate', { modelPath: '/m', prompt: 'hi', maxTokens: 0 }, /generate: params\.maxTokens must be a whole number in 1–1048576/],
      ['generate', { modelPath: '/m', prompt: 'hi', sampling: { topP: 2 } }, /params\.sampling\.topP must be a finite number/],
      ['screen', { modelPath: '/m', vectorPaths: ['v'], metric: 'nope' }, /params\.metric must be one of projection, fast-delta, delta, token-mean, token-max, token-topk/],
      ['activations', { modelPath: '', text: 'x' }, /params\.modelPath must be a non-empty path/],
      ['loadModel', { modelPath: '/m', weights: 'int3' }, /params\.weights must be one of auto, f32, int8, int4/],
      ['loadModel', { modelPath: '/m', device: 'tpu' }, /params\.device must be one of auto, cpu, webgpu, cuda, dml, coreml/],
      ['selfCheck', { runs: 1, device: 'gpu' }, /params\.device must be one of auto, cpu, webgpu, cuda, dml, coreml/],
      ['monitor', 'not an object', /params must be an object/],
    ];
    for (const [method, params, message] of bad) {
      const err = await rejectsWith(client.request(method, params as never), 'badRequest');
      assert.match(err.message, message);
    }
    const failed = await rejectsWith(client.request('generate', { modelPath: path.join(os.tmpdir(), 'no-such-model-folder'), prompt: 'hi' }), 'failed');
    assert.match(failed.message, /no-such-model-folder is not a folder/);
  });
});
