/**
 * Runs in its own process (peak RSS is its own): loads a checkpoint at a weight precision through the one model
 * loader and runs what a user runs first — `activations` on a short text and a 16-token `generate` — as the CLI
 * does. Prints JSON: load time (prepare included when the cache is cold), peak RSS, decode tokens/s.
 */
import * as path from 'node:path';
import { loadModel } from '../../src/core/model/loadedModel';
import { computeActivations, generateText } from '../../src/core/model/inference';
import type { WeightPrecision } from '../../src/core/model/weightPrecision';

async function main(): Promise<void> {
  const [dir, weights, cacheRoot, mode] = process.argv.slice(2) as [string, WeightPrecision, string, 'prepare' | 'run'];
  const t0 = performance.now();
  const model = await loadModel(dir, { cacheRoot: path.resolve(cacheRoot), weights, device: 'cpu' });
  const loadMs = performance.now() - t0;
  const mib = (bytes: number) => Math.round(bytes / 1024 / 1024);
  const result: Record<string, unknown> = { weights: model.precision, loadMs, rssAfterLoadMiB: mib(process.memoryUsage().rss), peakAfterLoadMiB: mib(process.resourceUsage().maxRSS * 1024) };
  if (mode === 'run') {
    const acts = await computeActivations(model, { text: 'Persona vectors are directions in the residual stream.' });
    result.activationRows = acts.rows;
    const t1 = performance.now();
    const gen = await generateText(model, { prompt: 'Tell me about the sea.', maxTokens: 16, stopStrings: [] });
    result.generateMs = performance.now() - t1;
    result.generatedTokens = gen.tokens.length;
  }
  await model.session.release();
  result.maxRssMiB = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(JSON.stringify(result));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
