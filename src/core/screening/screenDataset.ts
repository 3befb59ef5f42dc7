/**
 * Screening a whole dataset (a file or an editor's text) in one call: the engine's `screen` method.
 * Returns per-sample numbers (and the model's own answer, shortened, for hovers), issues and the summary.
 */
import type { RunContext } from '../cancellation';
import type { LoadedModel } from '../model/loadedModel';
import { readDataset, readJsonArray, readJsonLines, type DatasetIssue, type DatasetItem } from '../datasets/datasetReader';
import { Screener, type ScreenedSample } from './screener';
import { screeningOwnLength } from './calibration';
import { loadTraitVector } from '../vectors/traitVector';
import { parseThreshold, thresholdCalibrations, type ThresholdSpec } from './thresholds';
import { summarize, type TraitSummary } from './summary';
import { METRICS, type ScreenMetric } from './metrics';

/** What to screen; the engine's `screen` params are this on a model (`ScreenParams` in the engine protocol). */
export interface ScreenRequest {
  /** The dataset: a file path, or the editor's current text (unsaved edits included). */
  datasetPath?: string;
  text?: string;
  /** JSON array (true) or JSON lines (false) when text is given. */
  jsonArray?: boolean;
  vectorPaths: string[];
  layer?: number;
  metric: ScreenMetric;
  turns?: 'last' | 'all';
  lineRange?: { start: number; end: number };
  /** Longest own answer for ΔP and the token metrics; default the vectors' calibration's, else 128. */
  ownResponseTokens?: number;
  /** Per trait "calibrated" / "p95" / "2.5" specs; default calibrated. */
  thresholds?: Record<string, string>;
}

export interface ScreenResult {
  traits: string[];
  metric: ScreenMetric;
  samples: ScreenedSample[];
  issues: DatasetIssue[];
  summaries: TraitSummary[];
}

const OWN_RESPONSE_CHARS = 600;

export async function screenDataset(model: LoadedModel, params: ScreenRequest & { cacheRoot: string }, ctx?: RunContext): Promise<ScreenResult> {
  const { numLayers, hiddenSize } = model.checkpoint.spec;
  const vectors = params.vectorPaths.map((p) => loadTraitVector(p, numLayers + 1, hiddenSize, params.layer));
  const traits = vectors.map((v) => v.name);
  const ownResponseTokens = screeningOwnLength(params.ownResponseTokens, vectors);
  const screener = new Screener(model, vectors, { computeDelta: METRICS[params.metric].ownAnswer, peakExcerpts: METRICS[params.metric].ownAnswer, cacheRoot: params.cacheRoot, ownResponseTokens });
  const options = { turns: params.turns ?? 'last', lineRange: params.lineRange };
  let items: AsyncIterable<DatasetItem> | Iterable<DatasetItem>;
  let total = 0;
  if (params.text !== undefined) {
    const lines = params.text.split(/\r?\n/);
    total = lines.filter((l) => l.trim()).length;
    items = params.jsonArray ? readJsonArray(params.text, options) : readJsonLines(lines, options);
  } else if (params.datasetPath) {
    items = readDataset(params.datasetPath, options);
  } else throw new TypeError('screen needs datasetPath or text');
  const samples: ScreenedSample[] = [];
  const issues: DatasetIssue[] = [];
  const started = Date.now();
  const progress: RunContext | undefined = ctx && {
    ...ctx,
    progress: (done) => {
      const rate = done / Math.max((Date.now() - started) / 1000, 1e-3);
      const eta = total > done ? `, ~${Math.round((total - done) / rate)}s left` : '';
      ctx.progress(done, total || done, `${done}${total ? `/${total}` : ''} samples${eta}`);
    },
  };
  for await (const item of screener.screen(items, progress)) {
    if (item.kind === 'issue') issues.push(item);
    else samples.push({ ...item, response: '', ownResponse: item.ownResponse?.slice(0, OWN_RESPONSE_CHARS) });
  }
  const thresholds: Record<string, ThresholdSpec> = Object.fromEntries(traits.map((t) => [t, parseThreshold(params.thresholds?.[t] ?? 'calibrated')]));
  return { traits, metric: params.metric, samples, issues, summaries: samples.length ? summarize(samples, traits, params.metric, thresholds, thresholdCalibrations(vectors, ownResponseTokens)) : [] };
}
