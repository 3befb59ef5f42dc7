/** Screening figures for the bench table: throughput per metric, and peak RSS for 10k and 100k lines. */
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import type { BenchRow } from './table';

function run(lines: number, metric: string, limit?: number) {
  const args = ['--require', 'tsx/cjs', path.join(__dirname, 'screeningBench.ts'), String(lines), metric, ...(limit ? [String(limit)] : [])];
  return JSON.parse(execFileSync(process.execPath, args, { encoding: 'utf8' }));
}

export function benchScreening(): BenchRow[] {
  const fast = run(2000, 'fast-delta');
  const delta = run(2000, 'delta', 300);
  const small = run(10_000, 'fast-delta');
  const large = run(100_000, 'fast-delta');
  return [
    { benchmark: 'screening throughput, fast ΔP (organism, batch 16)', value: fast.samplesPerSecond.toFixed(0), unit: 'samples/s' },
    { benchmark: 'screening throughput, ΔP (generates own answers, 48 tokens)', value: delta.samplesPerSecond.toFixed(0), unit: 'samples/s' },
    { benchmark: 'peak RSS screening a 10k-line file (fast ΔP)', value: small.maxRssMiB.toFixed(0), unit: 'MiB' },
    { benchmark: 'peak RSS screening a 100k-line file (fast ΔP)', value: large.maxRssMiB.toFixed(0), unit: 'MiB', target: 'flat vs 10k', ok: large.maxRssMiB < small.maxRssMiB * 1.25 },
    { benchmark: 'time for the 100k-line file', value: large.seconds.toFixed(0), unit: 's' },
  ];
}
