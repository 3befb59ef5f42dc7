/**
 * Runs in its own process (so peak RSS is the engine's alone): loads the Qwen2.5-0.5B-shaped checkpoint and
 * measures prefill and decode speed, and the overhead of capturing all layers and of steering. Prints JSON.
 * With a file as the 8th argument, writes every hidden row of a 16-token prompt there (float32 [rows, 16, d]) so the
 * caller can compare precisions.
 */
import { loadModel } from '../../src/core/model/loadedModel';
import type { WeightPrecision } from '../../src/core/model/weightPrecision';
import type { Device } from '../../src/core/onnx/deviceChoice';
import { buildRowIntervention } from '../../src/core/model/steering';
import { percentile } from '../../src/core/stats';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeFileSync } from 'node:fs';

const median = (xs: number[]) => percentile(xs, 50);

async function main(): Promise<void> {
  const dir = process.argv[2];
  const prompt = Number(process.argv[3] ?? 512);
  const repeats = Number(process.argv[4] ?? 5);
  const weights = (process.argv[5] ?? 'f32') as WeightPrecision;
  const threads = process.argv[6] ? Number(process.argv[6]) : undefined;
  const device = (process.argv[7] ?? 'cpu') as Device;
  const rowsFile = process.argv[8];
  const t0 = performance.now();
  const model = await loadModel(dir, { cacheRoot: path.join(os.tmpdir(), 'persona-lens-bench', 'cache'), weights, threads, device });
  const { checkpoint: ckpt, session } = model;
  const loadMs = performance.now() - t0;
  const loadRssMiB = process.memoryUsage().rss / 1024 / 1024;
  const tokens = Array.from({ length: prompt }, (_, i) => (i * 7919) % 150000);
  const rows = ckpt.spec.numLayers + 1;
  const v = new Float32Array(ckpt.spec.hiddenSize).fill(0.01);
  const steer = buildRowIntervention([{ vector: v, rows: [12], coefficient: 4 }], rows, ckpt.spec.hiddenSize);

  const time = async (fn: () => Promise<unknown>) => {
    const t = performance.now();
    await fn();
    return performance.now() - t;
  };
  const warm = await session.forward({ tokens: [tokens.slice(0, 16)], logits: 'none', captureRows: Array.from({ length: rows }, (_, i) => i) }); // warm-up
  if (rowsFile) {
    const all = new Float32Array(rows * 16 * ckpt.spec.hiddenSize);
    for (let r = 0; r < rows; r++) all.set(warm.hidden.get(r)!, r * 16 * ckpt.spec.hiddenSize);
    writeFileSync(rowsFile, all);
  }
  // Interleave the variants so drift in machine speed affects them alike.
  const plain: number[] = [];
  const capture: number[] = [];
  const steered: number[] = [];
  for (let r = 0; r < repeats; r++) {
    plain.push(await time(() => session.forward({ tokens: [tokens], logits: 'last' })));
    capture.push(await time(() => session.forward({ tokens: [tokens], logits: 'last', captureRows: Array.from({ length: rows }, (_, i) => i) })));
    steered.push(await time(() => session.forward({ tokens: [tokens], logits: 'last', intervention: { add: [steer.add] } })));
  }
  // Decode: 32-token prompt, then 32 single-token steps with the KV cache.
  let out = await session.forward({ tokens: [tokens.slice(0, 32)], logits: 'last' });
  const steps = 32;
  const t = performance.now();
  for (let s = 0; s < steps; s++) out = await session.forward({ tokens: [[(s * 31) % 150000]], past: out.cache, logits: 'last' });
  const decodeMs = (performance.now() - t) / steps;
  await session.release();
  process.stdout.write(
    JSON.stringify({
      loadMs,
      prompt,
      prefillMs: median(plain),
      captureMs: median(capture),
      steerMs: median(steered),
      decodeMs,
      maxRssMiB: process.resourceUsage().maxRSS / 1024,
      loadRssMiB,
      weights,
      device: model.device.device,
    }),
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
