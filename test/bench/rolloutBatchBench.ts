/**
 * Runs in its own process: generation throughput (prompt prefill included, as rollouts and steering cells run) on
 * the Qwen2.5-0.5B-shaped checkpoint at several batch sizes, so the bench can show what batching buys and that the
 * default batch pays. Prints JSON.
 */
import { loadModel } from '../../src/core/model/loadedModel';
import { generate } from '../../src/core/model/generate';
import type { WeightPrecision } from '../../src/core/model/weightPrecision';
import * as os from 'node:os';
import * as path from 'node:path';

async function main(): Promise<void> {
  const [dir, weights, threads, ...batches] = process.argv.slice(2);
  const model = await loadModel(dir, { cacheRoot: path.join(os.tmpdir(), 'persona-lens-bench', 'cache'), weights: weights as WeightPrecision, threads: Number(threads), device: 'cpu' });
  const maxTokens = 32;
  // A rollout's prompt: a system prompt and a question, about 48 tokens; rows differ a little in length.
  const prompt = (b: number) => Array.from({ length: 44 + (b % 5) }, (_, i) => ((b + 1) * 7919 + i * 104729) % 150000);
  await generate(model.session, model.tokenizer, { prompts: [prompt(0)], maxTokens: 2, eosTokenIds: [] }); // warm-up
  // Greedy as the rollouts run by default (one sample per question); sampled at temperature 1 as steering cells run.
  // Random weights give nearly flat next-token distributions, the slow case for sampling (a trained model's are
  // peaked), so the sampled rows are a lower bound.
  const results: { batch: number; greedy: number; sampled: number }[] = [];
  for (const batch of batches.map(Number)) {
    const rate = async (temperature: number) => {
      const t = performance.now();
      const out = await generate(model.session, model.tokenizer, { prompts: Array.from({ length: batch }, (_, b) => prompt(b)), maxTokens, eosTokenIds: [], sampling: { temperature, seed: 1 } });
      return out.tokens.reduce((a, x) => a + x.length, 0) / ((performance.now() - t) / 1000);
    };
    results.push({ batch, greedy: await rate(0), sampled: await rate(1) });
  }
  await model.session.release();
  process.stdout.write(JSON.stringify({ precision: model.precision, results }));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
