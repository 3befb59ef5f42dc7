/**
 * Weight precision (issue 15): the block quantizer matches onnxruntime's MatMulNBits layout (one-node check), the
 * quantized decoder stays close to float32 on random checkpoints of every architecture (worst row printed), and
 * capture and steering behave exactly as at float32: the residual stream stays float32, so steering at row r moves
 * hidden row r by exactly α·v.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeRandomCheckpoint, seededNormal, type RandomCheckpoint, type RandomCheckpointOptions } from '../helpers/randomCheckpoint';
import { loadModel, type LoadedModel } from '../../src/core/model/loadedModel';
import { GraphBuilder, DataType } from '../../src/core/onnx/graphBuilder';
import { loadOnnxRuntime } from '../../src/core/onnx/runtime';
import { blockSizeOf, dequantizeRows, GGML_BLOCK, QUANTIZER_VERSION, quantizedShapes, quantizeRows, resolvePrecision } from '../../src/core/model/quantize';
import { readSafetensorsHeader, writeSafetensors } from '../../src/core/model/safetensors';
import { buildRowIntervention } from '../../src/core/model/steering';
import { quantizedWeightNames, storedBits } from '../../src/core/model/weightStore';
import { cosine } from '../helpers/cosine';

const cacheRoot = mkdtempSync(path.join(os.tmpdir(), 'persona-lens-quant-'));
after(() => rmSync(cacheRoot, { recursive: true, force: true }));

/** The smallest cosine over the positions of two [positions, d] arrays. */
function worstCosine(a: Float32Array, b: Float32Array, d: number): number {
  let worst = 1;
  for (let s = 0; s < a.length / d; s++) worst = Math.min(worst, cosine(a, b, s * d, (s + 1) * d));
  return worst;
}

describe('block quantizer ↔ onnxruntime MatMulNBits (one node)', () => {
  // Our own block size per bits, and ggml's 32 (GGUF Q8_0 / Q4_0 copied exactly).
  for (const bits of [8, 4] as const)
    for (const block of new Set([blockSizeOf(bits), GGML_BLOCK]))
      for (const [m, k, n] of [[3, 64, 5], [2, 40, 7], [2, 256, 3]])
        it(`${bits}-bit, block ${block}, K ${k} (${k % block ? 'padded last block' : 'whole blocks'}): onnxruntime computes A · dequant(B)ᵀ`, async () => {
          const normal = seededNormal(bits * 100 + k);
          const w = new Float32Array(n * k).map(() => normal());
          const shapes = quantizedShapes(n, k, bits, block);
          const packed = new Uint8Array(shapes.packed.reduce((x, y) => x * y, 1));
          const scales = new Float32Array(n * shapes.blocks);
          quantizeRows(w, n, k, bits, packed, scales, block);
          const dequantized = dequantizeRows(packed, scales, n, k, bits, block);
          // Rounding to the nearest code is within half a step; a value opposite the block's extreme may clip by one.
          for (let i = 0; i < w.length; i++) assert.ok(Math.abs(w[i] - dequantized[i]) <= Math.abs(scales[Math.floor(i / k) * shapes.blocks + Math.floor((i % k) / block)]) + 1e-6, `weight ${i}`);
          const g = new GraphBuilder('one_node');
          const a = g.input('a', DataType.FLOAT, [m, k]);
          const b = g.constant({ dataType: DataType.UINT8, dims: shapes.packed, data: packed });
          const sc = g.constant({ dataType: DataType.FLOAT, dims: shapes.scales, data: scales });
          g.nodeMulti('MatMulNBits', [a, b, sc], 1, { K: k, N: n, bits, block_size: block, accuracy_level: 0 }, ['y'], 'com.microsoft');
          g.output('y', DataType.FLOAT, [m, n]);
          const ort = loadOnnxRuntime();
          const session = await ort.InferenceSession.create(g.encode(17, { 'com.microsoft': 1 }));
          const av = new Float32Array(m * k).map(() => normal());
          const y = (await session.run({ a: new ort.Tensor('float32', av, [m, k]) })).y.data as Float32Array;
          await session.release();
          for (let i = 0; i < m; i++)
            for (let j = 0; j < n; j++) {
              let ref = 0;
              for (let t = 0; t < k; t++) ref += av[i * k + t] * dequantized[j * k + t];
              assert.ok(Math.abs(ref - y[i * n + j]) <= 1e-4 * (1 + Math.abs(ref)), `y[${i},${j}] ${y[i * n + j]} vs ${ref}`);
            }
        });

  it('auto: float32 for tiny models, int8 while it fits in half the free memory, int4 beyond', () => {
    const gib = 1024 ** 3;
    const need = { f32: 30 * gib, int8: 9 * gib, int4: 5 * gib };
    assert.equal(resolvePrecision('auto', 1.3e6, (p) => need[p], 24 * gib), 'f32');
    assert.equal(resolvePrecision('auto', 7.6e9, (p) => need[p], 24 * gib), 'int8');
    assert.equal(resolvePrecision('auto', 7.6e9, (p) => need[p], 14 * gib), 'int4');
    assert.equal(resolvePrecision('int4', 1.3e6, (p) => need[p], 24 * gib), 'int4', 'an explicit choice is kept');
  });
});

const ARCHITECTURES: [string, RandomCheckpointOptions][] = [
  ['llama', { architecture: 'llama', llama3Rope: true, kvHeads: 4 }],
  ['mistral', { architecture: 'mistral', slidingWindow: 4 }],
  ['qwen2 (tied)', { architecture: 'qwen2', tied: true }],
  ['qwen3 (BF16)', { architecture: 'qwen3', headDim: 16, dtype: 'BF16' }],
];
const TOKENS = [9707, 11, 1879, 0, 42, 7, 13, 2000, 31, 5];
/** Worst hidden row per architecture with noise at the floor of 4 bits per weight (filled by the suite below). */
const FOUR_BIT_FLOOR = new Map<string, number>();

describe('quantized weights vs float32 on random checkpoints (hidden rows, worst cosine printed)', function () {
  this.timeout(300000);
  for (const [name, options] of ARCHITECTURES) {
    describe(name, () => {
      const models = new Map<string, LoadedModel>();
      let checkpoint: RandomCheckpoint;
      let dir: string;
      before(async () => {
        checkpoint = writeRandomCheckpoint({ layers: 3, hidden: 64, intermediate: 128, seed: 11, ...options });
        dir = checkpoint.dir;
        for (const weights of ['f32', 'int8', 'int4'] as const) models.set(weights, await loadModel(dir, { cacheRoot, weights, threads: 1 }));
      });
      after(async () => {
        for (const m of models.values()) await m.session.release();
        rmSync(dir, { recursive: true, force: true });
      });

      it('int8: every hidden row within cosine 0.999 of float32; int4 within 0.95 (worst rows printed)', async () => {
        const f32 = models.get('f32')!;
        const rows = Array.from({ length: f32.session.rows }, (_, r) => r);
        const tokens = TOKENS.map((t) => t % f32.checkpoint.spec.vocabSize);
        const reference = await f32.session.forward({ tokens: [tokens], captureRows: rows, logits: 'all' });
        const d = f32.checkpoint.spec.hiddenSize;
        for (const [weights, floor] of [['int8', 0.999], ['int4', 0.95]] as const) {
          const out = await models.get(weights)!.session.forward({ tokens: [tokens], captureRows: rows, logits: 'all' });
          const perRow = rows.map((r) => worstCosine(reference.hidden.get(r)!, out.hidden.get(r)!, d));
          const logits = worstCosine(reference.logits!, out.logits!, f32.checkpoint.spec.vocabSize);
          console.log(`      ${name} ${weights}: worst cosine per row ${perRow.map((c) => c.toFixed(4)).join(' ')}; logits ${logits.toFixed(4)}`);
          perRow.forEach((c, r) => assert.ok(c >= floor, `${weights} row ${r}: cosine ${c}`));
        }
      });

      it('int4 against the floor of 4 bits per weight: noise of our int4 error\'s size predicts its worst row; noise at the rate–distortion floor does better, and is recorded', async () => {
        // Any code of R bits per i.i.d. Gaussian weight leaves a squared error ≥ σ²·2^(−2R) (Shannon's
        // rate–distortion bound). Noise of that size stands in for the best conceivable 4-bit code; noise the size of
        // our own int4 error checks that noise predicts what rounding does to the rows.
        const f32 = models.get('f32')!;
        const rows = Array.from({ length: f32.session.rows }, (_, r) => r);
        const tokens = TOKENS.map((t) => t % f32.checkpoint.spec.vocabSize);
        const d = f32.checkpoint.spec.hiddenSize;
        const reference = await f32.session.forward({ tokens: [tokens], captureRows: rows, logits: 'none' });
        const worstRow = (out: { hidden: Map<number, Float32Array> }) => Math.min(...rows.map((r) => worstCosine(reference.hidden.get(r)!, out.hidden.get(r)!, d)));
        const file = readdirSync(dir).find((f) => f.endsWith('.safetensors'))!;
        const { tensors } = readSafetensorsHeader(path.join(dir, file));
        // What int4 stores at 4 bits, by the store's own rule.
        const atFourBits = new Set(quantizedWeightNames(f32.checkpoint).filter((name) => storedBits(f32.checkpoint, name, 'int4') === 4));
        let squaredError = 0;
        let squared = 0;
        for (const name of atFourBits) {
          const [n, k] = tensors.get(name)!.shape;
          const w = Float32Array.from(checkpoint.weights.get(name)!);
          const shapes = quantizedShapes(n, k, 4, GGML_BLOCK);
          const packed = new Uint8Array(n * shapes.blocks * shapes.blobBytes);
          const scales = new Float32Array(n * shapes.blocks);
          quantizeRows(w, n, k, 4, packed, scales, GGML_BLOCK);
          const back = dequantizeRows(packed, scales, n, k, 4, GGML_BLOCK);
          for (let i = 0; i < w.length; i++) {
            squaredError += (back[i] - w[i]) ** 2;
            squared += w[i] ** 2;
          }
        }
        const ours = Math.sqrt(squaredError / squared);
        const int4 = worstRow(await models.get('int4')!.session.forward({ tokens: [tokens], captureRows: rows, logits: 'none' }));
        const withNoise = async (relativeRms: number, draw = 0): Promise<number> => {
          const noisy = mkdtempSync(path.join(os.tmpdir(), 'persona-lens-noise-'));
          try {
            for (const f of readdirSync(dir)) if (!f.endsWith('.safetensors')) copyFileSync(path.join(dir, f), path.join(noisy, f));
            const normal = seededNormal(2024 + draw);
            writeSafetensors(path.join(noisy, file), [...tensors].map(([name, info]) => {
              const w = Float32Array.from(checkpoint.weights.get(name)!);
              if (atFourBits.has(name)) {
                const sd = relativeRms * Math.sqrt(w.reduce((a, x) => a + x * x, 0) / w.length);
                for (let i = 0; i < w.length; i++) w[i] += sd * normal();
              }
              return { name, dtype: 'F32' as const, shape: info.shape, data: w };
            }));
            const model = await loadModel(noisy, { cacheRoot, weights: 'f32', threads: 1 });
            try {
              return worstRow(await model.session.forward({ tokens: [tokens], captureRows: rows, logits: 'none' }));
            } finally {
              await model.session.release();
            }
          } finally {
            rmSync(noisy, { recursive: true, force: true });
          }
        };
        const noiseAsOurs = await withNoise(ours);
        // The floor's rows vary by ±0.003 between noise draws: the mean of three.
        const floor4 = (await withNoise(2 ** -4, 0) + await withNoise(2 ** -4, 1) + await withNoise(2 ** -4, 2)) / 3;
        const floor45 = await withNoise(2 ** -4.5);
        console.log(`      ${name}: int4 relative weight error ${ours.toFixed(4)}, worst row ${int4.toFixed(4)}; the same error as noise ${noiseAsOurs.toFixed(4)}; noise at the floor of 4 bits per weight (2^-4) ${floor4.toFixed(4)}, of 4.5 (Q4_0's size with its scales, 2^-4.5) ${floor45.toFixed(4)}`);
        assert.ok(Math.abs(noiseAsOurs - int4) <= 0.04, `noise of our error's size predicts int4's worst row: ${noiseAsOurs} vs ${int4}`);
        assert.ok(int4 < floor4, `int4's worst row ${int4} is below the floor's ${floor4}: rounding errs more than the best 4-bit code`);
        FOUR_BIT_FLOOR.set(name, floor4);
      });

      it('steering at row r moves hidden row r by exactly α·v at every precision (the residual stream stays float32)', async () => {
        for (const [weights, model] of models) {
          const { hiddenSize: d } = model.checkpoint.spec;
          const rows = model.session.rows;
          const normal = seededNormal(3);
          const v = new Float32Array(d).map(() => normal());
          const row = 2;
          const alpha = 3;
          const steer = buildRowIntervention([{ vector: v, rows: [row], coefficient: alpha }], rows, d);
          const tokens = TOKENS.slice(0, 6).map((t) => t % model.checkpoint.spec.vocabSize);
          const plain = await model.session.forward({ tokens: [tokens], captureRows: [row], logits: 'none' });
          const steered = await model.session.forward({ tokens: [tokens], captureRows: [row], logits: 'none', intervention: { add: [steer.add] } });
          const a = plain.hidden.get(row)!;
          const b = steered.hidden.get(row)!;
          let worst = 0;
          for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(b[i] - a[i] - alpha * v[i % d]));
          assert.ok(worst <= 1e-5, `${weights}: |Δh − α·v| = ${worst}`);
        }
      });

      it('each precision is prepared once, in its own cache folder', () => {
        const folders = readdirSync(path.join(cacheRoot, 'models'));
        for (const weights of ['int8', 'int4']) assert.ok(folders.some((f) => f.startsWith(models.get(weights)!.checkpoint.fingerprint) && f.endsWith(`-q${QUANTIZER_VERSION}`)), `${weights} folder`);
        assert.notEqual(models.get('int8')!.checkpoint.fingerprint, models.get('f32')!.checkpoint.fingerprint);
      });
    });
  }
});

describe('the int4 fidelity bar of 0.99 on every architecture (issue 15) is beyond any 4-bit code on random Gaussian weights', () => {
  it('at the rate–distortion floor of 4 bits per weight, some architecture\'s worst row is below 0.99', function () {
    if (FOUR_BIT_FLOOR.size < ARCHITECTURES.length) this.skip(); // run with the suite above (mocha --grep on this one alone)
    const worst = [...FOUR_BIT_FLOOR].reduce((a, b) => (b[1] < a[1] ? b : a));
    console.log(`      worst row at the 4-bit floor: ${[...FOUR_BIT_FLOOR].map(([n, c]) => `${n} ${c.toFixed(4)}`).join(', ')}`);
    assert.ok(worst[1] < 0.99, `${worst[0]}: ${worst[1]}`);
  });
});
