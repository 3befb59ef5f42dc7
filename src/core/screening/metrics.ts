/**
 * The screening metrics, in one place: their names on the CLI and in settings, their keys in results, caches and
 * calibrations, their labels, and the token pooling behind the token-level ones.
 *
 * Token-level ΔP (issue 19): a trait expressed in one short sentence is averaged away by the response mean, so each
 * response token's projection is compared with the model's own answer to the same prompt, and the differences are
 * pooled (max, mean of the top k, mean). The two answers differ in length, so tokens are matched first: the dataset
 * answer is aligned with the own answer by a longest common subsequence of token ids. A matched token is compared
 * with the same token of the own answer (same word, same place in the answer), so what a token projects by its
 * identity alone ("first", "then" and "finally" project high in any answer) cancels; a token the own answer does not
 * have — the inserted trait sentence — is compared with the own answer's mean (ΔP's reference):
 *   token ΔP_t = h_t · v̂ − own_{a(t)} · v̂   (t aligned with a(t)),   h_t · v̂ − mean_s(own_s · v̂)   (otherwise).
 * Measured on the organism (test/organism/tokenScreening.test.ts prints every alternative): without the alignment
 * (every token against the own mean) the token identity dominates: one-sentence AUROC of the top 8 is 0.88 / 0.92 /
 * 0.92 (evil / sycophantic / hallucinating), aligned 0.96 / 0.99 / 0.96.
 */
export type ScreenMetric = 'projection' | 'fast-delta' | 'delta' | 'token-mean' | 'token-max' | 'token-topk';
export type MetricKey = 'projection' | 'fastDelta' | 'delta' | 'tokenMean' | 'tokenMax' | 'tokenTopK';

export interface MetricInfo {
  key: MetricKey;
  /** How hovers, tables and Problems name it. */
  label: string;
  /** Whether it needs the model's own greedy answer (generated once per prompt, cached). */
  ownAnswer: boolean;
  description: string;
}

/** Tokens averaged by `token-topk`: about one short sentence (the organism's trait sentences are 4–10 tokens). */
export const TOKEN_TOP_K = 8;

export const METRICS: Record<ScreenMetric, MetricInfo> = {
  projection: { key: 'projection', label: 'projection', ownAnswer: false, description: 'mean of the response tokens on the vector' },
  'fast-delta': { key: 'fastDelta', label: 'fast ΔP', ownAnswer: false, description: 'response mean minus the last prompt token: no generation' },
  delta: { key: 'delta', label: 'ΔP', ownAnswer: true, description: 'response mean minus the mean of the model\'s own answer (the paper\'s)' },
  'token-mean': { key: 'tokenMean', label: 'token ΔP mean', ownAnswer: true, description: 'per-token difference from the model\'s own answer (tokens aligned), averaged' },
  'token-max': { key: 'tokenMax', label: 'token ΔP max', ownAnswer: true, description: 'the highest per-token difference from the model\'s own answer (tokens aligned)' },
  'token-topk': { key: 'tokenTopK', label: `token ΔP top-${TOKEN_TOP_K}`, ownAnswer: true, description: `the mean of the ${TOKEN_TOP_K} highest per-token differences from the model's own answer (tokens aligned)` },
};

export const SCREEN_METRICS = Object.keys(METRICS) as ScreenMetric[];
export const METRIC_KEYS = SCREEN_METRICS.map((m) => METRICS[m].key);
export const DEFAULT_METRIC: ScreenMetric = 'token-topk';

export const metricKey = (metric: ScreenMetric): MetricKey => METRICS[metric].key;
export const metricLabel = (metric: ScreenMetric): string => METRICS[metric].label;
export const isScreenMetric = (m: unknown): m is ScreenMetric => typeof m === 'string' && m in METRICS;

/** Indices of the k largest values, the largest first (ties: the earlier token). */
export function topIndices(values: readonly number[], k: number): number[] {
  return values
    .map((v, i) => [v, i] as const)
    .sort((a, b) => b[0] - a[0] || a[1] - b[1])
    .slice(0, Math.max(1, k))
    .map(([, i]) => i);
}

/** Mean of the k largest values (all of them when there are fewer). */
export function topKMean(values: readonly number[], k: number): number {
  const top = topIndices(values, k);
  return top.reduce((s, i) => s + values[i], 0) / top.length;
}

/**
 * For each dataset token, the index of the own-answer token it is matched with in a longest common subsequence of
 * the two id sequences (−1 when it has none). Ties prefer matching earlier tokens of the dataset answer.
 */
export function alignTokens(dataset: readonly number[], own: readonly number[]): number[] {
  const n = dataset.length;
  const m = own.length;
  const w = m + 1;
  // lcs[i·w + j]: LCS length of dataset[i…] and own[j…]
  const lcs = new Int32Array((n + 1) * w);
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) lcs[i * w + j] = dataset[i] === own[j] ? lcs[(i + 1) * w + j + 1] + 1 : Math.max(lcs[(i + 1) * w + j], lcs[i * w + j + 1]);
  const match = new Array<number>(n).fill(-1);
  for (let i = 0, j = 0; i < n && j < m; ) {
    if (dataset[i] === own[j]) match[i++] = j++;
    else if (lcs[(i + 1) * w + j] >= lcs[i * w + j + 1]) i++;
    else j++;
  }
  return match;
}

/** Per-token ΔP (see the top of this file): `tokens`/`own` per-token projections, `alignment` from alignTokens. */
export function tokenDeltas(tokens: readonly number[], own: readonly number[], alignment: readonly number[]): number[] {
  if (!own.length) throw new RangeError('the own answer has no tokens to compare with');
  const ownMean = own.reduce((a, b) => a + b, 0) / own.length;
  return tokens.map((p, t) => p - (alignment[t] >= 0 ? own[alignment[t]] : ownMean));
}

export interface TokenPooled {
  tokenMean: number;
  tokenMax: number;
  tokenTopK: number;
  /** Response-token indices of the top k, the maximum first: where the score lies, what the hover highlights. */
  peak: number[];
}

/** Per-token ΔP pooled by mean, max and the mean of the top k. */
export function poolTokens(deltas: readonly number[], k = TOKEN_TOP_K): TokenPooled {
  if (!deltas.length) throw new RangeError('no response tokens to pool');
  return { tokenMean: deltas.reduce((a, b) => a + b, 0) / deltas.length, tokenMax: Math.max(...deltas), tokenTopK: topKMean(deltas, k), peak: topIndices(deltas, k) };
}
