import * as path from 'node:path';
import { intOption, numberOption, stringOption, UsageError } from '../args';
import type { CliCommand } from '../command';
import { MODEL_OPTIONS, loadOptions, modelInputs } from '../modelOptions';
import { AtomicFile, checkOutputs, requireInputFile, writeFileAtomic } from '../../core/io/userFiles';
import { openModel } from '../../core/model/openModel';
import { cliContext, EXIT_FAILED, EXIT_NOT_FINITE } from '../command';
import { loadModel } from '../../core/model/loadedModel';
import { readDataset, type DatasetIssue } from '../../core/datasets/datasetReader';
import { Screener, type ScreenedSample } from '../../core/screening/screener';
import { DEFAULT_METRIC, METRICS, SCREEN_METRICS, isScreenMetric } from '../../core/screening/metrics';
import { loadTraitVector, vectorModelMismatch } from '../../core/vectors/traitVector';
import { parseThresholds, thresholdCalibrations } from '../../core/screening/thresholds';
import { screeningGate, summarize } from '../../core/screening/summary';
import { screeningOwnLength } from '../../core/screening/calibration';
import { toSarif } from '../../core/screening/sarif';
import { defaultCacheRoot } from '../../core/model/weightStore';
import { scoreRow, scoresCsvHeader, scoresCsvRow } from '../../core/screening/scoreRows';

export const screenCommand: CliCommand = {
  name: 'screen',
  summary: 'Score every sample of a dataset against persona vectors (token ΔP top-k / max, ΔP, fast ΔP, projection); SARIF and a CI gate',
  usage: `persona-lens screen DATASET --model MODEL --vector VEC.safetensors[,…] [--metric ${SCREEN_METRICS.join('|')}] [--threshold …] [--own-tokens N] [--out scores.jsonl|.csv] [--sarif report.sarif] [--fail-above X]`,
  positionals: true,
  options: [
    ...MODEL_OPTIONS,
    { name: 'vector', kind: 'string', description: 'vector file(s), comma-separated', required: true },
    { name: 'metric', kind: 'string', description: SCREEN_METRICS.map((m) => `${m} (${METRICS[m].label}${m === DEFAULT_METRIC ? ', default' : ''})`).join(' | ') },
    { name: 'layer', kind: 'string', description: 'read this row instead of each vector\'s recommended layer' },
    { name: 'threshold', kind: 'string', description: 'calibrated (default: halfway between the 90th percentile of the vector\'s anti-trait answers and the 25th of its trait answers), a value, or a percentile of this file (p95); for all, or trait=spec,…' },
    { name: 'out', kind: 'string', description: 'per-sample scores: .jsonl or .csv' },
    { name: 'sarif', kind: 'string', description: 'SARIF 2.1.0 report of flagged samples' },
    { name: 'fail-above', kind: 'string', description: 'exit 1 when any sample\'s metric exceeds this value (exit 3 when a score is not finite)' },
    { name: 'turns', kind: 'string', description: 'last (default) or all assistant turns' },
    { name: 'own-tokens', kind: 'string', description: 'longest own answer generated for ΔP and the token metrics (default: the length the vectors were calibrated with, else 128)' },
    { name: 'batch', kind: 'string', description: 'samples per forward pass (default 8)' },
  ],
  async run(args, io) {
    // Every option and file is checked here, before the model loads: a typo never costs a screening run.
    const [dataset, ...extra] = args.positionals;
    if (!dataset) throw new UsageError('name the dataset file (.jsonl or .json)');
    if (extra.length) throw new UsageError(`one dataset at a time (also got ${extra.join(', ')})`);
    const metric = String(args.options.metric ?? DEFAULT_METRIC);
    if (!isScreenMetric(metric)) throw new UsageError(`--metric must be one of ${SCREEN_METRICS.join(', ')}`);
    const turns = String(args.options.turns ?? 'last');
    if (turns !== 'last' && turns !== 'all') throw new UsageError('--turns must be last or all');
    const layer = args.options.layer !== undefined ? intOption(args, 'layer', 0, { min: 0 }) : undefined;
    const failAbove = args.options['fail-above'] !== undefined ? numberOption(args, 'fail-above', Infinity) : undefined;
    const requestedOwnTokens = args.options['own-tokens'] === undefined ? undefined : intOption(args, 'own-tokens', 0, { min: 1, max: 4096 });
    const batchSize = intOption(args, 'batch', 8, { min: 1, max: 1024 });
    const out = stringOption(args, 'out');
    if (out !== undefined && !/\.(jsonl|csv)$/i.test(out)) throw new UsageError('--out must end with .jsonl or .csv');
    const sarif = stringOption(args, 'sarif');
    const vectorFiles = String(args.options.vector).split(',').map((f) => f.trim());
    if (vectorFiles.some((f) => !f)) throw new UsageError('--vector has an empty file name in its list');
    requireInputFile(dataset, 'dataset');
    for (const f of vectorFiles) requireInputFile(f, '--vector');
    checkOutputs(
      [out !== undefined ? { label: '--out', path: out } : undefined, sarif !== undefined ? { label: '--sarif', path: sarif } : undefined],
      [{ label: 'dataset', path: dataset }, ...modelInputs(args), ...vectorFiles.map((f) => ({ label: '--vector file', path: f }))],
    );
    const modelDir = String(args.options.model);
    const { spec, fingerprint } = await openModel(modelDir);
    const vectors = vectorFiles.map((f) => loadTraitVector(f, spec.numLayers + 1, spec.hiddenSize, layer));
    for (const v of vectors) {
      const warning = vectorModelMismatch(v, { fingerprint, architecture: spec.architecture });
      if (warning) io.err(`warning: ${warning}`);
    }
    const traits = vectors.map((v) => v.name);
    const ownResponseTokens = screeningOwnLength(requestedOwnTokens, vectors);
    let thresholds: ReturnType<typeof parseThresholds>;
    try {
      thresholds = parseThresholds(stringOption(args, 'threshold'), traits);
    } catch (err) {
      throw new UsageError(`--threshold: ${(err as Error).message}`);
    }

    const options = loadOptions(args, io);
    const model = await loadModel(modelDir, options);
    const scores = out !== undefined ? AtomicFile.open(out) : undefined;
    try {
      const screener = new Screener(model, vectors, {
        computeDelta: METRICS[metric].ownAnswer,
        peakExcerpts: METRICS[metric].ownAnswer,
        cacheRoot: options.cacheRoot ?? defaultCacheRoot(),
        ownResponseTokens,
        batchSize,
      });
      const samples: ScreenedSample[] = [];
      const issues: DatasetIssue[] = [];
      const csv = out?.toLowerCase().endsWith('.csv');
      if (csv) scores!.write(scoresCsvHeader(traits) + '\n');
      for await (const item of screener.screen(readDataset(dataset, { turns }), cliContext(io))) {
        if (item.kind === 'issue') {
          issues.push(item);
          io.err(`${dataset}:${item.startLine}: ${item.message}`);
          continue;
        }
        // Keep only the numbers and the short peak excerpts per sample, so memory stays small on large files.
        samples.push({ ...item, ownResponse: undefined, response: '' });
        scores?.write((csv ? scoresCsvRow(item, traits) : JSON.stringify(scoreRow(item))) + '\n');
      }
      if (!samples.length) {
        io.err(`${dataset}: no sample could be scored`);
        return 1;
      }
      scores?.commit();
      const summaries = summarize(samples, traits, metric, thresholds, thresholdCalibrations(vectors, ownResponseTokens));
      io.out(`${path.basename(dataset)}: ${samples.length} samples, ${issues.length} skipped; metric ${metric} (${METRICS[metric].label}: ${METRICS[metric].description})`);
      io.out('trait            mean      p50      p90      p99  threshold  flagged');
      for (const s of summaries) io.out(`${s.trait.padEnd(14)} ${[s.mean, s.p50, s.p90, s.p99, s.threshold].map((x) => x.toFixed(3).padStart(8)).join(' ')}  ${String(s.flagged).padStart(4)} (${(100 * s.shareFlagged).toFixed(1)}%)`);
      for (const s of summaries) {
        io.out(`${s.trait}: threshold ${s.threshold.toFixed(3)} = ${s.thresholdRule}`);
        if (s.thresholdNotice) io.err(`notice: ${s.trait}: ${s.thresholdNotice}`);
      }
      if (sarif !== undefined) writeFileAtomic(sarif, JSON.stringify(toSarif(path.basename(dataset), samples, issues, summaries, metric), null, 2));
      const gate = screeningGate(samples, traits, metric, failAbove, dataset);
      if (gate.message) io.err(gate.message);
      return gate.code === 'not-finite' ? EXIT_NOT_FINITE : gate.code === 'over' ? EXIT_FAILED : 0;
    } finally {
      scores?.abort();
      await model.session.release();
    }
  },
};
