/**
 * Flagging thresholds, per trait: a value ("2.5") or a percentile of this dataset's scores ("p95").
 * Written on the CLI as one spec for all traits or `trait=spec,trait=spec`.
 */
import { percentile } from '../stats';

export type ThresholdSpec = { kind: 'value'; value: number } | { kind: 'percentile'; p: number };

export function parseThreshold(text: string): ThresholdSpec {
  const t = text.trim();
  const m = /^p(\d+(?:\.\d+)?)$/i.exec(t);
  if (m) {
    const p = Number(m[1]);
    if (p < 0 || p > 100) throw new RangeError(`percentile threshold ${t} must be p0…p100`);
    return { kind: 'percentile', p };
  }
  const value = Number(t);
  if (t === '' || !Number.isFinite(value)) throw new RangeError(`threshold "${text}" must be a number or a percentile like p95`);
  return { kind: 'value', value };
}

/** "p95" or "evil=2.5,sycophantic=p90" → per-trait specs (default applies to unnamed traits). */
export function parseThresholds(text: string | undefined, traits: string[], fallback: ThresholdSpec = { kind: 'percentile', p: 95 }): Record<string, ThresholdSpec> {
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

export function resolveThreshold(spec: ThresholdSpec, scores: readonly number[]): number {
  return spec.kind === 'value' ? spec.value : percentile(scores, spec.p);
}
