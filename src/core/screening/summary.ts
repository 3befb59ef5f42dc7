/** Dataset summary per trait: mean, percentiles, threshold and share of samples above it. */
import { mean, percentile } from '../stats';
import type { ScreenMetric, ScreenedSample } from './screener';
import { resolveThreshold, type ThresholdCalibration, type ThresholdSpec } from './thresholds';
import { metricKey, metricLabel, METRICS } from './metrics';

export interface TraitSummary {
  trait: string;
  metric: ScreenMetric;
  samples: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  threshold: number;
  /** What the threshold means ("halfway between the anti-trait answers' 90th percentile (3.71) and the trait answers' 25th (15.29), of …"). */
  thresholdRule: string;
  /** How it was set: calibrated on the vector, relative to this file, or a fixed value. */
  thresholdKind?: 'calibrated' | 'value' | 'percentile';
  /**
   * Where the editor's heat marks start (heat 0): the median anti-trait answer of a calibrated vector, else this
   * file's median — so with a calibrated threshold the heat, like the flag, does not depend on the rest of the file.
   */
  heatFrom?: number;
  /** Why a calibrated threshold could not be used, when it could not. */
  thresholdNotice?: string;
  flagged: number;
  shareFlagged: number;
}

export function metricValue(s: ScreenedSample, trait: string, metric: ScreenMetric): number {
  const value = s.scores[trait][metricKey(metric)];
  if (value === undefined) throw new Error(`${metricLabel(metric)} was not computed for this run (${METRICS[metric].ownAnswer ? 'it needs the model\'s own answers: screen with a metric that generates them' : 'screen again'})`);
  return value;
}

/** `calibrations`: per trait, the vector's calibration or why it has none (traitVector.ts). */
export function summarize(samples: readonly ScreenedSample[], traits: string[], metric: ScreenMetric, thresholds: Record<string, ThresholdSpec>, calibrations: Record<string, ThresholdCalibration> = {}): TraitSummary[] {
  return traits.map((trait) => {
    const values = samples.map((s) => metricValue(s, trait, metric));
    const threshold = resolveThreshold(thresholds[trait], values, metric, calibrations[trait]);
    const flagged = values.filter((v) => v > threshold.value).length;
    return {
      trait,
      metric,
      samples: values.length,
      mean: mean(values),
      p50: percentile(values, 50),
      p90: percentile(values, 90),
      p99: percentile(values, 99),
      threshold: threshold.value,
      thresholdRule: threshold.rule,
      thresholdKind: threshold.kind,
      heatFrom: threshold.kind === 'calibrated' ? calibrations[trait]?.calibration?.negative[metricKey(metric)]?.quantiles[50] : undefined,
      thresholdNotice: threshold.notice,
      flagged,
      shareFlagged: values.length ? flagged / values.length : 0,
    };
  });
}

/**
 * The CI gate over a screened file. A score that is not a number never passes: NaN > limit is false, so samples
 * without a finite score are counted on their own and fail the gate before any limit is compared.
 */
export function screeningGate(samples: ScreenedSample[], traits: string[], metric: ScreenMetric, failAbove: number | undefined, file: string): { code: 'pass' | 'over' | 'not-finite'; message?: string } {
  const notFinite = samples.filter((s) => traits.some((t) => !Number.isFinite(metricValue(s, t, metric))));
  if (notFinite.length > 0) return { code: 'not-finite', message: `${notFinite.length} samples have no finite ${metric} score (first at ${file}:${notFinite[0].startLine}): the screening is not trustworthy` };
  if (failAbove === undefined) return { code: 'pass' };
  const over = samples.filter((s) => traits.some((t) => metricValue(s, t, metric) > failAbove)).length;
  return over > 0 ? { code: 'over', message: `${over} samples exceed --fail-above ${failAbove}` } : { code: 'pass' };
}
