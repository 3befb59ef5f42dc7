/**
 * Calibration carried by a vector: what each screening metric gives on the extraction's own answers, so a
 * threshold means the same on every file ("between the anti-trait and the trait answers this vector was extracted
 * from") instead of being a percentile of whatever file is screened (which flags 5 % of any file).
 *
 * The default threshold is halfway between the anti-trait answers' 90th percentile and the trait answers' 25th:
 * between the upper edge of the one population and the lower quartile of the other, not between their centres.
 * Measured on the organism, screening `normal.jsonl` and the labelled trait samples of the `*-strong` sets
 * (test/organism/calibration.test.ts prints every trait × metric):
 * - "above 99 % of the anti-trait answers" flagged 28 % (sycophantic) and 73 % (hallucinating) of the clean file:
 *   anti-trait answers are far more anti-trait than ordinary clean data, so their extreme tail says little;
 * - halfway between the two medians (the rule before this one) flags no clean sample with the default metric but
 *   sits too high where the trait answers spread wide: with ΔP it caught 80 / 82 / 53 % (evil / sycophantic /
 *   hallucinating); on a candidate organism trained from another world (issue 19's notes) 57 % of
 *   hallucinating-strong's trait samples with the default metric, where a threshold flagging ≤ 2 % of clean data
 *   catches all of them;
 * - this rule, the best of the family anti q_a + w·(trait q_b − anti q_a) tried on both organisms: the default
 *   metric catches 100 / 98 / 98 % at 0 % of normal (the candidate: 100 / 98 / 86 %), ΔP 89 / 86 / 85 % at ≤ 0.7 %.
 *   Other metrics move both ways (hallucinating token ΔP mean now flags 5 % of normal, projection 24 % instead of
 *   61 %).
 * The model's own sampled answers with no system prompt were measured as a stand-in for clean data, and are not
 * one: the organism shows its traits unprompted in a few percent of them (as trained), so their upper tail is trait.
 *
 * The kept pairs' answers are screened exactly as a dataset sample is — the question as the user turn, the answer
 * as the assistant turn, no system prompt — by the same Screener, so every metric (token ΔP included) gets the
 * numbers a screened file would get for such answers. The Monitor's reference marks come from the same extraction:
 * the last-prompt-token projection under the eliciting and the anti-eliciting system prompts.
 */
import type { RunContext } from '../cancellation';
import type { LoadedModel } from '../model/loadedModel';
import type { ScoredTurn } from '../datasets/sampleShapes';
import { sampleHash } from '../datasets/datasetReader';
import { percentile } from '../stats';
import { DEFAULT_OWN_RESPONSE_TOKENS, Screener } from './screener';
import { METRIC_KEYS, metricKey, type MetricKey, type ScreenMetric } from './metrics';

export const CALIBRATION_VERSION = 1;

/** Quantiles 0, 1, …, 100 of a set of values, and how many values they summarise. */
export interface Distribution {
  n: number;
  quantiles: number[];
}

type MetricDistributions = Record<'projection' | 'fastDelta' | 'delta', Distribution> & Partial<Record<'tokenMean' | 'tokenMax' | 'tokenTopK', Distribution>>;

export interface VectorCalibration {
  version: typeof CALIBRATION_VERSION;
  /** The row the distributions were measured at (the recommended layer). */
  layer: number;
  /**
   * The extraction's anti-trait (negative) answers, screened as dataset samples. A vector calibrated before the
   * token metrics existed has no `tokenMax` / `tokenTopK`: those fall back to a file percentile with a notice.
   */
  negative: MetricDistributions;
  /** Its trait (positive) answers, the same way. */
  positive: MetricDistributions;
  /** Last-prompt-token projection (the Monitor's number) under the anti-eliciting and the eliciting system prompts. */
  monitor: { antiEliciting: Distribution; eliciting: Distribution };
  /**
   * Longest own answer (tokens) the ΔP and token metrics were measured against. Screening defaults to it, so a
   * calibrated threshold compares like with like; absent in vectors calibrated before it was recorded.
   */
  ownResponseTokens?: number;
}

export function distribution(values: readonly number[]): Distribution {
  const finite = values.filter(Number.isFinite);
  return { n: finite.length, quantiles: Array.from({ length: 101 }, (_, p) => percentile(finite, p)) };
}

/** Both distributions of a metric, when the calibration has them. */
export function metricCalibration(calibration: VectorCalibration, metric: ScreenMetric): { negative: Distribution; positive: Distribution } | undefined {
  const key = metricKey(metric);
  const negative = calibration.negative[key];
  const positive = calibration.positive[key];
  return negative && positive ? { negative, positive } : undefined;
}

/** The quantiles the calibrated default sits between (see above): the anti-trait answers' upper edge, the trait answers' lower quartile. */
export const CALIBRATION_ANTI_TRAIT_QUANTILE = 90;
export const CALIBRATION_TRAIT_QUANTILE = 25;

/** The two values the calibrated default sits halfway between, when the calibration has the metric. */
export function calibratedBounds(calibration: VectorCalibration, metric: ScreenMetric): { antiTrait: number; trait: number; pairs: number } | undefined {
  const c = metricCalibration(calibration, metric);
  return c && { antiTrait: c.negative.quantiles[CALIBRATION_ANTI_TRAIT_QUANTILE], trait: c.positive.quantiles[CALIBRATION_TRAIT_QUANTILE], pairs: c.negative.n };
}

/** The calibrated default threshold (see above); NaN without calibration for the metric. */
export function calibratedThreshold(calibration: VectorCalibration, metric: ScreenMetric): number {
  const b = calibratedBounds(calibration, metric);
  return b ? (b.antiTrait + b.trait) / 2 : NaN;
}

/**
 * The own-answer length a screening run uses: the one asked for, else the one the vectors were calibrated with when
 * they agree (one screener serves them all), else the default.
 */
export function screeningOwnLength(requested: number | undefined, vectors: readonly { calibration?: VectorCalibration }[]): number {
  if (requested !== undefined) return requested;
  const lengths = new Set(vectors.map((v) => v.calibration?.ownResponseTokens).filter((n): n is number => n !== undefined));
  return lengths.size === 1 ? [...lengths][0] : DEFAULT_OWN_RESPONSE_TOKENS;
}

export interface CalibrationAnswers {
  question: string;
  positive: string;
  negative: string;
}

/**
 * Screens the kept pairs' answers with the vector at `layer` (all three metrics; ΔP generates the model's own
 * answer per question, cached like any screening run) and summarises them.
 */
export async function calibrateVector(
  model: LoadedModel,
  vector: { name: string; layer: number; direction: Float32Array },
  answers: readonly CalibrationAnswers[],
  monitor: { antiEliciting: number[]; eliciting: number[] },
  options: { cacheRoot?: string; ownResponseTokens?: number },
  ctx?: RunContext,
): Promise<VectorCalibration> {
  const ownResponseTokens = options.ownResponseTokens ?? DEFAULT_OWN_RESPONSE_TOKENS;
  const screener = new Screener(model, [vector], { computeDelta: true, cacheRoot: options.cacheRoot, ownResponseTokens });
  const scores = { positive: [] as Partial<Record<MetricKey, number>>[], negative: [] as Partial<Record<MetricKey, number>>[] };
  const samples = answers.flatMap((a, i) => (['negative', 'positive'] as const).map((polarity) => ({ polarity, turn: sample(a.question, polarity === 'positive' ? a.positive : a.negative), index: 2 * i + (polarity === 'positive' ? 1 : 0) })));
  const items = samples.map(({ turn, index }) => ({ kind: 'sample' as const, ...turn, index, startLine: index + 1, endLine: index + 1, format: 'messages' as const, hash: sampleHash(turn) }));
  for await (const item of screener.screen(items, ctx)) {
    if (item.kind !== 'scored') continue;
    scores[samples[item.index].polarity].push(item.scores[vector.name]);
  }
  const summarise = (rows: Partial<Record<MetricKey, number>>[]) => Object.fromEntries(METRIC_KEYS.map((k) => [k, distribution(rows.map((r) => r[k] ?? NaN))])) as MetricDistributions;
  return {
    version: CALIBRATION_VERSION,
    layer: vector.layer,
    negative: summarise(scores.negative),
    positive: summarise(scores.positive),
    monitor: { antiEliciting: distribution(monitor.antiEliciting), eliciting: distribution(monitor.eliciting) },
    ownResponseTokens,
  };
}

function sample(question: string, answer: string): ScoredTurn {
  return { prompt: [{ role: 'user', content: question }], response: answer, turn: 0 };
}

/** Checks a calibration read from a file (metadata JSON), so a damaged one is ignored rather than trusted. */
export function parseCalibration(raw: unknown): VectorCalibration | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const c = raw as Partial<VectorCalibration>;
  const ok = (d: unknown): d is Distribution => typeof d === 'object' && d !== null && Number.isInteger((d as Distribution).n) && Array.isArray((d as Distribution).quantiles) && (d as Distribution).quantiles.length === 101 && (d as Distribution).quantiles.every((q) => typeof q === 'number');
  // The token metrics came later: a calibration without them is kept (they fall back), a damaged one is not.
  const metrics = (m: unknown) => typeof m === 'object' && m !== null && ['projection', 'fastDelta', 'delta'].every((k) => ok((m as Record<string, unknown>)[k])) && ['tokenMean', 'tokenMax', 'tokenTopK'].every((k) => (m as Record<string, unknown>)[k] === undefined || ok((m as Record<string, unknown>)[k]));
  const ownLength = c.ownResponseTokens === undefined || (Number.isInteger(c.ownResponseTokens) && c.ownResponseTokens >= 1);
  if (c.version !== CALIBRATION_VERSION || !Number.isInteger(c.layer) || !ownLength || !metrics(c.negative) || !metrics(c.positive) || !ok(c.monitor?.antiEliciting) || !ok(c.monitor?.eliciting)) return undefined;
  return c as VectorCalibration;
}
