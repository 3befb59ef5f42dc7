import { writeFileSync, createWriteStream } from 'node:fs';
import * as path from 'node:path';
import { intOption, numberOption, UsageError } from '../args';
import type { CliCommand } from '../command';
import { MODEL_OPTIONS, loadOptions } from '../modelOptions';
import { loadModel } from '../../core/model/loadedModel';
import { readDataset, type DatasetIssue } from '../../core/datasets/datasetReader';
import { Screener, type ScreenMetric, type ScreenedSample } from '../../core/screening/screener';
import { loadTraitVector } from '../../core/vectors/traitVector';
import { parseThresholds } from '../../core/screening/thresholds';
import { summarize, metricValue } from '../../core/screening/summary';
import { toSarif } from '../../core/screening/sarif';
import { runContext } from '../../core/cancellation';
import { defaultCacheRoot } from '../../core/model/weightStore';
import { scoreRow, scoresCsvHeader, scoresCsvRow } from '../../core/screening/scoreRows';

export const screenCommand: CliCommand = {
  name: 'screen',
  summary: 'Score every sample of a dataset against persona vectors (projection, ΔP, fast ΔP); SARIF and a CI gate',
  usage: 'persona-lens screen DATASET --model DIR --vector VEC.safetensors[,…] [--metric projection|delta|fast-delta] [--threshold …] [--out scores.jsonl|.csv] [--sarif report.sarif] [--fail-above X]',
  options: [
    ...MODEL_OPTIONS,
    { name: 'vector', kind: 'string', description: 'vector file(s), comma-separated', required: true },
    { name: 'metric', kind: 'string', description: 'projection | delta (ΔP, default) | fast-delta' },
    { name: 'layer', kind: 'string', description: 'read this row instead of each vector\'s recommended layer' },
    { name: 'threshold', kind: 'string', description: 'value or percentile (p95, default) for all, or trait=spec,…' },
    { name: 'out', kind: 'string', description: 'per-sample scores: .jsonl or .csv' },
    { name: 'sarif', kind: 'string', description: 'SARIF 2.1.0 report of flagged samples' },
    { name: 'fail-above', kind: 'string', description: 'exit 1 when any sample\'s metric exceeds this value' },
    { name: 'turns', kind: 'string', description: 'last (default) or all assistant turns' },
    { name: 'own-tokens', kind: 'string', description: 'longest own answer generated for ΔP (default 128)' },
    { name: 'batch', kind: 'string', description: 'samples per forward pass (default 8)' },
  ],
  async run(args, io) {
    const [dataset] = args.positionals;
    if (!dataset) throw new UsageError('name the dataset file (.jsonl or .json)');
    const metric = String(args.options.metric ?? 'delta') as ScreenMetric;
    if (!['projection', 'delta', 'fast-delta'].includes(metric)) throw new UsageError('--metric must be projection, delta or fast-delta');
    const turns = String(args.options.turns ?? 'last');
    if (turns !== 'last' && turns !== 'all') throw new UsageError('--turns must be last or all');
    const options = loadOptions(args);
    const model = await loadModel(String(args.options.model), options);
    try {
      const { numLayers, hiddenSize } = model.checkpoint.spec;
      const layer = args.options.layer !== undefined ? intOption(args, 'layer', 0) : undefined;
      const vectors = String(args.options.vector).split(',').map((f) => loadTraitVector(f.trim(), numLayers + 1, hiddenSize, layer));
      const traits = vectors.map((v) => v.name);
      const thresholds = parseThresholds(args.options.threshold as string | undefined, traits);
      const screener = new Screener(model, vectors, {
        computeDelta: metric === 'delta',
        cacheRoot: options.cacheRoot ?? defaultCacheRoot(),
        ownResponseTokens: intOption(args, 'own-tokens', 128),
        batchSize: intOption(args, 'batch', 8),
      });
      const samples: ScreenedSample[] = [];
      const issues: DatasetIssue[] = [];
      const out = args.options.out !== undefined ? String(args.options.out) : undefined;
      const csv = out?.endsWith('.csv');
      const stream = out ? createWriteStream(out) : undefined;
      if (csv) stream!.write(scoresCsvHeader(traits) + '\n');
      for await (const item of screener.screen(readDataset(dataset, { turns }), runContext(io.signal, (done) => io.err(`${done} samples`)))) {
        if (item.kind === 'issue') {
          issues.push(item);
          io.err(`${dataset}:${item.startLine}: ${item.message}`);
          continue;
        }
        // Keep only the numbers (not texts) per sample, so memory stays small on large files.
        samples.push({ ...item, ownResponse: undefined, response: '' });
        stream?.write((csv ? scoresCsvRow(item, traits) : JSON.stringify(scoreRow(item))) + '\n');
      }
      await new Promise<void>((resolve) => (stream ? stream.end(resolve) : resolve()));
      if (!samples.length) {
        io.err(`${dataset}: no sample could be scored`);
        return 1;
      }
      const summaries = summarize(samples, traits, metric, thresholds);
      io.out(`${path.basename(dataset)}: ${samples.length} samples, ${issues.length} skipped; metric ${metric}`);
      io.out('trait            mean      p50      p90      p99  threshold  flagged');
      for (const s of summaries) io.out(`${s.trait.padEnd(14)} ${[s.mean, s.p50, s.p90, s.p99, s.threshold].map((x) => x.toFixed(3).padStart(8)).join(' ')}  ${String(s.flagged).padStart(4)} (${(100 * s.shareFlagged).toFixed(1)}%)`);
      if (args.options.sarif !== undefined) writeFileSync(String(args.options.sarif), JSON.stringify(toSarif(path.basename(dataset), samples, issues, summaries, metric), null, 2));
      if (args.options['fail-above'] !== undefined) {
        const limit = numberOption(args, 'fail-above', Infinity);
        const over = samples.filter((s) => traits.some((t) => metricValue(s, t, metric) > limit)).length;
        if (over > 0) {
          io.err(`${over} samples exceed --fail-above ${limit}`);
          return 1;
        }
      }
      return 0;
    } finally {
      await model.session.release();
    }
  },
};
