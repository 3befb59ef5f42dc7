import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { main } from '../../src/cli/main';
import { writeRandomCheckpoint, seededNormal, type RandomCheckpoint } from '../helpers/randomCheckpoint';
import { referenceForward } from '../reference/referenceForward';
import { Tokenizer } from '../../src/core/model/tokenizer';
import { readSafetensorsHeader, readTensorBytes, toFloat32, writeSafetensors } from '../../src/core/model/safetensors';

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l), signal: new AbortController().signal } };
}

function readTensor(file: string, name: string) {
  const header = readSafetensorsHeader(file);
  const info = header.tensors.get(name)!;
  const bytes = readTensorBytes(file, info);
  return { info, bytes };
}

describe('CLI: activations and generate on a real checkpoint folder', function () {
  this.timeout(120000);
  let rc: RandomCheckpoint;
  let work: string;
  let cacheDir: string;
  before(() => {
    rc = writeRandomCheckpoint({ architecture: 'qwen3', layers: 3, seed: 5 });
    work = mkdtempSync(path.join(os.tmpdir(), 'persona-lens-cli-'));
    cacheDir = path.join(work, 'cache');
  });
  after(() => {
    rmSync(rc.dir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });

  it('activations writes hidden_states [layers+1, seq, d] and input_ids matching the reference', async () => {
    const out = path.join(work, 'acts.safetensors');
    const t = io();
    assert.equal(await main(['activations', '--model', rc.dir, '--text', 'Hello world, persona vectors!', '--out', out, '--cache-dir', cacheDir], t.io), 0, t.err.join('\n'));
    const ids = readTensor(out, 'input_ids');
    assert.equal(ids.info.dtype, 'I64');
    const tokens = Array.from(new BigInt64Array(ids.bytes.buffer, ids.bytes.byteOffset, ids.info.shape[0]), Number);
    assert.deepEqual(tokens, [9707, 1879, 11, 27955, 22879, 0], 'tokenized like HF tokenizer(text) for Qwen3 (no special tokens added)');
    const hs = readTensor(out, 'hidden_states');
    assert.deepEqual(hs.info.shape, [4, tokens.length, 32]);
    const values = toFloat32(hs.bytes, 'F32');
    const ref = referenceForward(rc.ref, rc.weights, tokens);
    for (let r = 0; r < 4; r++)
      for (let i = 0; i < ref.hidden[r].length; i++) assert.ok(Math.abs(values[r * ref.hidden[r].length + i] - ref.hidden[r][i]) <= 1e-4, `row ${r}`);
  });

  it('--chat formats one user turn with the generation prompt', async () => {
    const out = path.join(work, 'chat.safetensors');
    const t = io();
    assert.equal(await main(['activations', '--model', rc.dir, '--text', 'Hi', '--chat', '--out', out, '--cache-dir', cacheDir], t.io), 0, t.err.join('\n'));
    const ids = readTensor(out, 'input_ids');
    const tokens = Array.from(new BigInt64Array(ids.bytes.buffer, ids.bytes.byteOffset, ids.info.shape[0]), Number);
    assert.deepEqual(tokens.slice(0, 3), [151644, 872, 198], '<|im_start|>user\\n');
    assert.deepEqual(tokens.slice(-3), [151644, 77091, 198], '<|im_start|>assistant\\n');
  });

  it('--steer with a [layers+1, d] vector adds row L at every position before block L+1', async () => {
    const normal = seededNormal(3);
    const vec = Float32Array.from({ length: 4 * 32 }, () => normal());
    const vecPath = path.join(work, 'vec.safetensors');
    writeSafetensors(vecPath, [{ name: 'evil', dtype: 'F32', shape: [4, 32], data: vec }]);
    const out = path.join(work, 'steered.safetensors');
    const t = io();
    assert.equal(await main(['activations', '--model', rc.dir, '--text', 'Hello world', '--out', out, '--cache-dir', cacheDir, '--steer', vecPath, '--layer', '2', '--coef', '3'], t.io), 0, t.err.join('\n'));
    const tokens = [9707, 1879];
    const ref = referenceForward(rc.ref, rc.weights, tokens, { row: 2, vector: Float64Array.from(vec.subarray(64, 96)), coefficient: 3 });
    const values = toFloat32(readTensor(out, 'hidden_states').bytes, 'F32');
    for (let r = 0; r < 4; r++)
      for (let i = 0; i < ref.hidden[r].length; i++) assert.ok(Math.abs(values[r * ref.hidden[r].length + i] - ref.hidden[r][i]) <= 1e-4, `row ${r}`);
  });

  it('a vector of the wrong width is refused with a clear message', async () => {
    const vecPath = path.join(work, 'wide.safetensors');
    writeSafetensors(vecPath, [{ name: 'v', dtype: 'F32', shape: [48], data: new Float32Array(48) }]);
    const t = io();
    assert.equal(await main(['activations', '--model', rc.dir, '--text', 'x', '--out', path.join(work, 'x.safetensors'), '--cache-dir', cacheDir, '--steer', vecPath, '--layer', '1'], t.io), 1);
    assert.match(t.err.join('\n'), /vector width 48 does not match the model's hidden size 32/);
  });

  it('generate (greedy) continues exactly as the reference argmax loop', async () => {
    const t = io();
    assert.equal(await main(['generate', '--model', rc.dir, '--prompt', 'Hello', '--raw', '--max-tokens', '4', '--cache-dir', cacheDir], t.io), 0, t.err.join('\n'));
    const tokens = [9707];
    for (let i = 0; i < 4; i++) {
      const ref = referenceForward(rc.ref, rc.weights, tokens);
      const last = ref.logits.subarray((tokens.length - 1) * rc.ref.vocab);
      let best = 0;
      for (let v = 1; v < rc.ref.vocab; v++) if (last[v] > last[best]) best = v;
      tokens.push(best);
    }
    assert.match(t.err.join('\n'), /\[4 tokens, finished by length\]/);
    const tok = await Tokenizer.load(rc.dir);
    assert.equal(t.out[0], tok.decode(tokens.slice(1)));
  });

  it('seeded sampling is reproducible', async () => {
    const run = async (seed: string) => {
      const t = io();
      assert.equal(await main(['generate', '--model', rc.dir, '--prompt', 'Hello', '--raw', '--max-tokens', '6', '--temperature', '1', '--top-p', '0.9', '--seed', seed, '--cache-dir', cacheDir], t.io), 0);
      return t.out[0];
    };
    assert.equal(await run('11'), await run('11'));
  });

  it('--device cpu gives the same bytes as the default; a bad --device is a usage error; an absent one an error naming it', async () => {
    const run = async (extra: string[]) => {
      const out = path.join(work, `device-${extra.join('-') || 'default'}.safetensors`);
      const t = io();
      assert.equal(await main(['activations', '--model', rc.dir, '--text', 'Hello world', '--out', out, '--cache-dir', cacheDir, ...extra], t.io), 0, t.err.join('\n'));
      return { bytes: readTensor(out, 'hidden_states').bytes, err: t.err.join('\n') };
    };
    const cpu = await run(['--device', 'cpu']);
    assert.match(cpu.err, /^device: cpu \(cpu chosen\)$/m, 'the device and why reach the log');
    const values = toFloat32(cpu.bytes, 'F32');
    const ref = referenceForward(rc.ref, rc.weights, [9707, 1879]);
    for (let r = 0; r < 4; r++)
      for (let i = 0; i < ref.hidden[r].length; i++) assert.ok(Math.abs(values[r * ref.hidden[r].length + i] - ref.hidden[r][i]) <= 1e-4, `row ${r}`);
    const auto = await run([]);
    assert.match(auto.err, /^device: \w+ \(auto: .*\)$/m);
    if (/^device: cpu /m.test(auto.err)) assert.ok(Buffer.from(auto.bytes).equals(Buffer.from(cpu.bytes)), 'auto on a machine without an accelerator is the cpu path, byte for byte');

    const bad = io();
    assert.equal(await main(['activations', '--model', rc.dir, '--text', 'x', '--out', path.join(work, 'x.safetensors'), '--device', 'tpu'], bad.io), 2);
    assert.match(bad.err[0], /^--device must be auto, cpu, webgpu, cuda, dml, coreml \(got tpu\)\nUsage: persona-lens activations /);

    // DirectML is only in the Windows build, CoreML only in macOS's: one of them is absent wherever this runs.
    const absent = process.platform === 'win32' ? 'coreml' : 'dml';
    const missing = io();
    assert.equal(await main(['activations', '--model', rc.dir, '--text', 'x', '--out', path.join(work, 'y.safetensors'), '--cache-dir', cacheDir, '--device', absent], missing.io), 1);
    assert.match(missing.err.join('\n'), new RegExp(`^persona-lens activations: Device ${absent}: ${absent} is not in this platform's onnxruntime-node build .*Set personaLens\\.engine\\.device \\(or --device\\) to auto or cpu\\.$`, 'm'));
  });
});
