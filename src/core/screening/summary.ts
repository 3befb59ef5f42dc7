/** Dataset summary per trait: mean, percentiles, threshold and share of samples above it. */
import { mean, percentile } from '../stats';
import type { ScreenMetric, ScreenedSample } from './screener';
import { resolveThreshold, type ThresholdSpec } from './thresholds';

export interface TraitSummary {
  trait: string;
  metric: ScreenMetric;
  samples: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  threshold: number;
  flagged: number;
  shareFlagged: number;
}

export function metricValue(s: ScreenedSample, trait: string, metric: ScreenMetric): number {
  const m = s.scores[trait];
  if (metric === 'projection') return m.projection;
  if (metric === 'fast-delta') return m.fastDelta;
  if (m.delta === undefined) throw new Error('ΔP was not computed for this run (screen with the delta metric)');
  return m.delta;
}

export function summarize(samples: readonly ScreenedSample[], traits: string[], metric: ScreenMetric, thresholds: Record<string, ThresholdSpec>): TraitSummary[] {
  return traits.map((trait) => {
    const values = samples.map((s) => metricValue(s, trait, metric));
    const threshold = resolveThreshold(thresholds[trait], values);
    const flagged = values.filter((v) => v > threshold).length;
    return { trait, metric, samples: values.length, mean: mean(values), p50: percentile(values, 50), p90: percentile(values, 90), p99: percentile(values, 99), threshold, flagged, shareFlagged: values.length ? flagged / values.length : 0 };
  });
}
