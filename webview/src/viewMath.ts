/** Pure helpers of the panel's views (no DOM), unit-tested in Node: histogram bins, heat levels, top k. */

export interface Histogram {
  /** binCount + 1 ascending edges; bin i is [edges[i], edges[i+1]) (the last bin includes its right edge). */
  edges: number[];
  counts: number[];
  /** Indices of the values in each bin. */
  members: number[][];
}

/** Smallest and largest finite value (a loop: spreading 100k values into Math.min overflows the stack). */
export function range(values: readonly number[]): { min: number; max: number } {
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { min, max };
}

/** About √n bins, between 5 and 30. */
export function binCountFor(n: number): number {
  return Math.min(30, Math.max(5, Math.ceil(Math.sqrt(n))));
}

/** Equal-width bins over the values' range, widened to include `include` (e.g. the threshold, so its line shows). */
export function histogram(values: readonly number[], binCount: number, include?: number): Histogram {
  let { min: lo, max: hi } = range(include !== undefined && Number.isFinite(include) ? [...values, include] : values);
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) [lo, hi] = [0, 1];
  if (hi === lo) [lo, hi] = [lo - 0.5, hi + 0.5];
  const width = (hi - lo) / binCount;
  const edges = Array.from({ length: binCount + 1 }, (_, i) => lo + i * width);
  const members: number[][] = Array.from({ length: binCount }, () => []);
  values.forEach((v, i) => {
    if (!Number.isFinite(v)) return;
    members[Math.min(binCount - 1, Math.max(0, Math.floor((v - lo) / width)))].push(i);
  });
  return { edges, counts: members.map((m) => m.length), members };
}

/** Each value's place between the smallest (0) and the largest (1); all 0 when they are equal. */
export function heatLevels(values: readonly number[]): { levels: number[]; min: number; max: number } {
  const { min, max } = range(values);
  const span = max - min;
  return { levels: values.map((v) => (span > 0 ? (v - min) / span : 0)), min, max };
}

/**
 * A monitored value on its vector's fixed scale: 0 where the extraction's anti-eliciting prompts sat, 1 where its
 * eliciting prompts sat. The same text gets the same place whatever was typed before.
 */
export function onReferenceScale(value: number, reference: { antiEliciting: number; eliciting: number }): number {
  const span = reference.eliciting - reference.antiEliciting;
  return span !== 0 ? (value - reference.antiEliciting) / span : 0;
}

/** Heat levels on a fixed range (the vector's reference scale): values outside it clamp to 0 or 1. */
export function fixedHeatLevels(values: readonly number[], reference: { antiEliciting: number; eliciting: number }): { levels: number[]; min: number; max: number } {
  const min = reference.antiEliciting;
  const max = reference.eliciting;
  return { levels: values.map((v) => Math.min(1, Math.max(0, onReferenceScale(v, reference)))), min, max };
}

/** Indices of the k largest values, largest first (ties keep file order). */
export function topK(values: readonly number[], k: number): number[] {
  return values
    .map((v, i) => [v, i] as const)
    .sort((a, b) => b[0] - a[0] || a[1] - b[1])
    .slice(0, k)
    .map(([, i]) => i);
}

/** Axis labels of a vector's rows: row 0 is the embeddings, row r the output of layer r. */
export function layerLabels(rows: number): string[] {
  return Array.from({ length: rows }, (_, r) => (r === 0 ? 'emb' : `L${r}`));
}
