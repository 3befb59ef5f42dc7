/**
 * The 7B goal in the bench: a Qwen2.5-7B-shaped random BF16 checkpoint (as the hub ships it) is written once into
 * the bench folder (not the repo), prepared at int4 and int8, and run as a user would (activations, then a 16-token
 * generate), each in its own process so its peak RSS is its own. PERSONA_LENS_BENCH_7B=0 skips it (about 15 min
 * and 15 GB of disk the first time).
 */
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import type { BenchRow } from './table';
import { benchRoot, QWEN_7B, writeBenchCheckpoint } from './benchCheckpoint';

const TARGET_MIB = { int4: 6.5 * 1024, int8: 10 * 1024 };

export function benchLargeModel(): BenchRow[] {
  if (process.env.PERSONA_LENS_BENCH_7B === '0') return [{ benchmark: 'Qwen2.5-7B-shaped BF16', value: 'skipped', unit: '', target: 'PERSONA_LENS_BENCH_7B=0' }];
  const started = Date.now();
  const dir = writeBenchCheckpoint(QWEN_7B, 'BF16');
  const writeS = (Date.now() - started) / 1000;
  const cache = path.join(benchRoot(), 'cache-7b');
  const run = (weights: string, mode: 'prepare' | 'run') =>
    JSON.parse(execFileSync(process.execPath, ['--require', 'tsx/cjs', path.join(__dirname, 'largeModelBench.ts'), dir, weights, cache, mode], { encoding: 'utf8', maxBuffer: 1 << 20 }));
  const rows: BenchRow[] = [{ benchmark: 'Qwen2.5-7B-shaped BF16 checkpoint (14.2 GiB): written or reused', value: writeS.toFixed(0), unit: 's' }];
  for (const weights of ['int4', 'int8'] as const) {
    const prepared = run(weights, 'prepare');
    const used = run(weights, 'run');
    const tag = `Qwen2.5-7B-shaped ${weights}`;
    rows.push(
      { benchmark: `${tag}: first load (quantize while preparing + session)`, value: (prepared.loadMs / 1000).toFixed(0), unit: 's' },
      { benchmark: `${tag}: peak RSS while preparing`, value: prepared.maxRssMiB.toFixed(0), unit: 'MiB' },
      { benchmark: `${tag}: load with prepared cache`, value: (used.loadMs / 1000).toFixed(1), unit: 's' },
      { benchmark: `${tag}: 16-token generate, prompt prefill included`, value: (used.generatedTokens / (used.generateMs / 1000)).toFixed(1), unit: 'tokens/s' },
      { benchmark: `${tag}: peak RSS (load, activations, generate)`, value: used.maxRssMiB.toFixed(0), unit: 'MiB', target: `≤ ${TARGET_MIB[weights]} MiB`, ok: used.maxRssMiB <= TARGET_MIB[weights] },
    );
  }
  return rows;
}
