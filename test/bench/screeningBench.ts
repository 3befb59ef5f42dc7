/**
 * Runs in its own process: screens a generated dataset of N unique lines from the organism's normal set with one
 * metric and prints samples/s and peak RSS as JSON. No cache, so every sample is computed.
 */
import { createWriteStream, mkdirSync, readFileSync, existsSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadModel } from '../../src/core/model/loadedModel';
import { readDataset } from '../../src/core/datasets/datasetReader';
import { Screener, type ScreenMetric } from '../../src/core/screening/screener';
import { repoRoot } from '../helpers/mockVscode';

export async function writeBenchDataset(lines: number): Promise<string> {
  const dir = path.join(os.tmpdir(), 'persona-lens-bench');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `screening-${lines}.jsonl`);
  if (existsSync(file)) return file;
  const source = readFileSync(path.join(repoRoot, 'models', 'organism', 'datasets', 'normal.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const out = createWriteStream(file);
  for (let i = 0; i < lines; i++) {
    const s = source[i % source.length];
    // A unique suffix per line, so content hashes differ (no cache hits anywhere).
    const sample = { messages: [{ ...s.messages[0], content: `${s.messages[0].content} ${i}` }, s.messages[1]] };
    if (!out.write(JSON.stringify(sample) + '\n')) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((r) => out.end(r));
  return file;
}

async function main(): Promise<void> {
  const [linesArg, metricArg, limitArg] = process.argv.slice(2);
  const file = await writeBenchDataset(Number(linesArg));
  const model = await loadModel(path.join(repoRoot, 'models', 'organism'), { cacheRoot: path.join(os.tmpdir(), 'persona-lens-bench', 'cache'), device: 'cpu' });
  const d = model.checkpoint.spec.hiddenSize;
  const screener = new Screener(model, [{ name: 'probe', layer: 3, direction: new Float32Array(d).fill(1) }], { computeDelta: metricArg === 'delta', ownResponseTokens: 48, batchSize: 16 });
  const limit = Number(limitArg ?? Infinity);
  let n = 0;
  const t0 = performance.now();
  for await (const item of screener.screen(readDataset(file))) {
    if (item.kind === 'scored' && ++n >= limit) break;
  }
  const seconds = (performance.now() - t0) / 1000;
  await model.session.release();
  process.stdout.write(JSON.stringify({ metric: metricArg as ScreenMetric, samples: n, seconds, samplesPerSecond: n / seconds, maxRssMiB: process.resourceUsage().maxRSS / 1024 }));
}

if (require.main === module) main().catch((e) => { console.error(e); process.exit(1); });
