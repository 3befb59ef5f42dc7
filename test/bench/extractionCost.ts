/**
 * Issue 18 in the bench: what one trait's extraction costs. The layer search's planned generated tokens, the old
 * default (exhaustive, every row × α 1,2,4, 20 questions × 3 answers × 128 tokens) beside today's (budgeted, 64
 * tokens, half the questions held out for the validation), for 24-, 28- and 32-layer models; generation throughput
 * on the 0.5B shape at batch 1 and at the default batch; and from it the expected wall time of one extraction.
 */
import { execFileSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import type { BenchRow } from './table';
import { writeBenchCheckpoint } from './benchCheckpoint';
import { formatTokens, planSearch, type SearchPlanRequest } from '../../src/core/extraction/searchPlan';
import { formatDuration } from '../../src/core/cancellation';
import { validationCells } from '../../src/core/extraction/layerSearch';
import { DEFAULT_MAX_BATCH } from '../../src/core/extraction/steeringCells';

const THREADS = Math.min(2, os.availableParallelism());
const OLD: Omit<SearchPlanRequest, 'rows'> = { strategy: 'exhaustive', coefficients: 3, questions: 20, samplesPerQuestion: 3, maxTokens: 128, elicitingPrompts: 2 };
const NEW: Omit<SearchPlanRequest, 'rows'> = { strategy: 'budgeted', coefficients: 3, questions: 10, samplesPerQuestion: 3, maxTokens: 64, elicitingPrompts: 2 };
/** A generated trait: 20 extraction questions × 5 instruction pairs × 2 polarities, 128 tokens each. */
const ROLLOUT_TOKENS = 20 * 5 * 2 * 128;
const VALIDATION_TOKENS = validationCells(2) * 10 * 3 * 64;

export function benchExtractionCost(): BenchRow[] {
  const rows: BenchRow[] = [];
  for (const layers of [24, 28, 32]) {
    const before = planSearch({ ...OLD, rows: layers }).plannedTokens;
    const now = planSearch({ ...NEW, rows: layers }).plannedTokens;
    rows.push(
      { benchmark: `layer search, ${layers}-layer model: old default (exhaustive), planned generated tokens`, value: formatTokens(before), unit: 'tokens' },
      { benchmark: `layer search, ${layers}-layer model: default (budgeted), planned generated tokens`, value: formatTokens(now), unit: 'tokens', target: '≤ 5 % of the old', ok: now <= 0.05 * before },
    );
  }
  const dir = writeBenchCheckpoint();
  const batches = [1, 8, 16, DEFAULT_MAX_BATCH, 2 * DEFAULT_MAX_BATCH];
  const measured = JSON.parse(execFileSync(process.execPath, ['--require', 'tsx/cjs', path.join(__dirname, 'rolloutBatchBench.ts'), dir, 'auto', String(THREADS), ...batches.map(String)], { encoding: 'utf8', maxBuffer: 1 << 20 })) as { precision: string; results: { batch: number; greedy: number; sampled: number }[] };
  const at = (b: number) => measured.results.find((r) => r.batch === b)!.sampled;
  for (const { batch, greedy, sampled } of measured.results)
    rows.push(
      { benchmark: `Qwen2.5-0.5B-shaped ${measured.precision} (${THREADS} threads): generation (48-token prompts, 32 tokens), batch ${batch}${batch === DEFAULT_MAX_BATCH ? ' (the default)' : ''}, greedy (rollouts)`, value: greedy.toFixed(1), unit: 'tokens/s' },
      { benchmark: `  … the same, sampled at temperature 1 (steering cells; random weights: a near-flat distribution, sampling's slow case)`, value: sampled.toFixed(1), unit: 'tokens/s' },
    );
  const search = planSearch({ ...NEW, rows: 24 }).plannedTokens;
  const old = planSearch({ ...OLD, rows: 24 }).plannedTokens;
  const total = ROLLOUT_TOKENS + search + VALIDATION_TOKENS;
  rows.push(
    { benchmark: `one trait's extraction on the 0.5B shape, default (rollouts ${formatTokens(ROLLOUT_TOKENS)} + search ${formatTokens(search)} + validation ${formatTokens(VALIDATION_TOKENS)} tokens) at batch ${DEFAULT_MAX_BATCH}, at the sampled rate`, value: formatDuration(total / at(DEFAULT_MAX_BATCH)), unit: 'expected (upper bound)' },
    // The old validation: 14 batches of the 20 questions × 3 answers × 128 tokens.
    { benchmark: `the same with the old defaults (exhaustive search ${formatTokens(old)} tokens, validation ${formatTokens(14 * 20 * 3 * 128)}) at the same throughput`, value: formatDuration((ROLLOUT_TOKENS + old + 14 * 20 * 3 * 128) / at(DEFAULT_MAX_BATCH)), unit: 'expected (upper bound)' },
  );
  return rows;
}
