/**
 * Flagging thresholds, per trait: `calibrated` (the default: halfway between the upper edge of the anti-trait answers
 * and the lower quartile of the trait answers the vector was extracted from — the same meaning on every file;
 * calibration.ts), a value ("2.5"), or a percentile of this dataset's own scores ("p95", an explicit choice: it flags
 * that share of any file, clean or not).
 * Written on the CLI as one spec for all traits or `trait=spec,trait=spec`.
 */
import { percentile } from '../stats';
import { CALIBRATION_ANTI_TRAIT_QUANTILE, CALIBRATION_TRAIT_QUANTILE, calibratedBounds, calibratedThreshold, type VectorCalibration } from './calibration';
import { METRICS, metricLabel, type ScreenMetric } from './metrics';

export type ThresholdSpec = { kind: 'calibrated' } | { kind: 'value'; value: number } | { kind: 'percentile'; p: number };

export const CALIBRATED: ThresholdSpec = { kind: 'calibrated' };
/** What `calibrated` falls back to for a vector without calibration (with a notice saying so). */
const UNCALIBRATED_FALLBACK = 95;

export function parseThreshold(text: string): ThresholdSpec {
  const t = text.trim();
  if (t === 'calibrated') return CALIBRATED;
  const m = /^p(\d+(?:\.\d+)?)$/i.exec(t);
  if (m) {
    const p = Number(m[1]);
    if (p < 0 || p > 100) throw new RangeError(`percentile threshold ${t} must be p0…p100`);
    return { kind: 'percentile', p };
  }
  const value = Number(t);
  if (t === '' || !Number.isFinite(value)) throw new RangeError(`threshold "${text}" must be calibrated, a number or a percentile like p95`);
  return { kind: 'value', value };
}

/** "p95" or "evil=2.5,sycophantic=p90" → per-trait specs (default applies to unnamed traits). */
export function parseThresholds(text: string | undefined, traits: string[], fallback: ThresholdSpec = CALIBRATED): Record<string, ThresholdSpec> {
  const out: Record<string, ThresholdSpec> = Object.fromEntries(traits.map((t) => [t, fallback]));
  if (!text) return out;
  if (!text.includes('=')) return Object.fromEntries(traits.map((t) => [t, parseThreshold(text)]));
  for (const part of text.split(',')) {
    const [name, spec] = part.split('=');
    if (!traits.includes(name.trim())) throw new RangeError(`threshold for unknown trait "${name}" (traits: ${traits.join(', ')})`);
    out[name.trim()] = parseThreshold(spec ?? '');
  }
  return out;
}

export interface ResolvedThreshold {
  value: number;
  /** How it was set in the end (`percentile` when `calibrated` had to fall back). */
  kind: ThresholdSpec['kind'];
  /** What the threshold means, for summaries, hovers and Problems. */
  rule: string;
  /** Set when `calibrated` was asked for but the vector has no calibration (and why). */
  notice?: string;
}

/** The vector's calibration (if any) and why it has none, as traitVector.ts reports them. */
export interface ThresholdCalibration {
  calibration?: VectorCalibration;
  missing?: string;
  /** Longest own answer this screening run generated (ΔP and token metrics), to compare with the calibration's. */
  ownResponseTokens?: number;
}

/** Each vector's ThresholdCalibration, by trait name, for a run that generated own answers of `ownResponseTokens`. */
export function thresholdCalibrations(vectors: readonly { name: string; calibration?: VectorCalibration; calibrationMissing?: string }[], ownResponseTokens: number): Record<string, ThresholdCalibration> {
  return Object.fromEntries(vectors.map((v) => [v.name, { calibration: v.calibration, missing: v.calibrationMissing, ownResponseTokens }]));
}

export function resolveThreshold(spec: ThresholdSpec, scores: readonly number[], metric: ScreenMetric, calibrated: ThresholdCalibration = {}): ResolvedThreshold {
  if (spec.kind === 'value') return { value: spec.value, kind: 'value', rule: 'a fixed value' };
  if (spec.kind === 'percentile') return { value: percentile(scores, spec.p), kind: 'percentile', rule: `the ${spec.p}th percentile of this file's scores (relative to this file)` };
  const { calibration } = calibrated;
  const bounds = calibration && calibratedBounds(calibration, metric);
  if (calibration && bounds) {
    const measured = calibration.ownResponseTokens;
    const used = calibrated.ownResponseTokens;
    // ΔP and the token metrics subtract the model's own answer: one of another length moves them, so the threshold
    // would compare numbers measured two ways. Said, not refused: the user chose the length.
    const otherLength = METRICS[metric].ownAnswer && measured !== undefined && used !== undefined && measured !== used;
    return {
      value: calibratedThreshold(calibration, metric),
      kind: 'calibrated',
      rule: `halfway between the anti-trait answers' ${CALIBRATION_ANTI_TRAIT_QUANTILE}th percentile (${bounds.antiTrait.toFixed(2)}) and the trait answers' ${CALIBRATION_TRAIT_QUANTILE}th (${bounds.trait.toFixed(2)}), of the ${bounds.pairs} pairs this vector was extracted from`,
      ...(otherLength ? { notice: `the calibration measured ${metricLabel(metric)} against own answers of up to ${measured} tokens, this run against ${used}: screen with own answers of ${measured} tokens to compare like with like (CLI --own-tokens ${measured}; vectors calibrated with different lengths, one at a time)` } : {}),
    };
  }
  const missing = calibration ? `the vector's calibration has no ${metricLabel(metric)} (it was extracted before that metric existed: extract again to calibrate it)` : (calibrated.missing ?? 'the vector has no calibration');
  return {
    value: percentile(scores, UNCALIBRATED_FALLBACK),
    kind: 'percentile',
    rule: `the ${UNCALIBRATED_FALLBACK}th percentile of this file's scores (relative to this file)`,
    notice: `${missing}; using the ${UNCALIBRATED_FALLBACK}th percentile of this file instead`,
  };
}
