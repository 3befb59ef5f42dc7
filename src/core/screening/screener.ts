/**
 * Per-sample screening metrics (Chen et al. 2025, §6), at each vector's layer, with v̂ the unit vector:
 * - projection: mean residual over the sample's response tokens · v̂;
 * - ΔP (delta): projection(dataset response) − projection(the model's own greedy response to the same prompt);
 * - fast ΔP: projection(dataset response) − last-prompt-token residual · v̂ (no generation);
 * - token ΔP mean / max / top-k: per response token, h_t · v̂ minus the aligned token of the own response (or its
 *   mean for a token it does not have), pooled (metrics.ts).
 * Samples are processed in left-padded batches; nothing but the per-sample numbers is kept.
 */
import { leftPadded } from '../model/decoderSession';
import { createHash } from 'node:crypto';
import type { RunContext } from '../cancellation';
import type { LoadedModel } from '../model/loadedModel';
import type { DatasetItem, DatasetIssue, DatasetSample } from '../datasets/datasetReader';
import { generate } from '../model/generate';
import { ScreeningCache, type CachedMetrics, type CachedMetricsPart } from './screeningCache';
import { alignTokens, poolTokens, tokenDeltas } from './metrics';
import { peakExcerpt, type PeakSegment } from '../monitoring/tokenProjections';

export type { ScreenMetric } from './metrics';

export interface ScreeningVector {
  /** Trait name (the key in results). */
  name: string;
  /** Residual row to read. */
  layer: number;
  /** [d] direction at that row (any norm; it is normalised). */
  direction: Float32Array;
}

export interface TraitScores extends CachedMetrics {}

export interface ScreenedSample extends Omit<DatasetSample, 'prompt'> {
  kind: 'scored';
  scores: Record<string, TraitScores>;
  /** The model's own greedy answer (ΔP and the token metrics only). */
  ownResponse?: string;
  responseTokens: number;
  /** Per trait, the per-token projections behind the metrics (only with `keepTokenProjections`). */
  tokenProjections?: Record<string, TokenProjections>;
  /** Per trait, the response text around the tokens the token metrics peaked on (only with `peakExcerpts`). */
  peaks?: Record<string, PeakSegment[]>;
}

export interface TokenProjections {
  /** h_t · v̂ for each token of the dataset response. */
  response: number[];
  /** The same for the model's own answer (when it was generated), and its token ids. */
  own?: number[];
  ownIds?: number[];
  /** Dataset response token ids. */
  ids: number[];
  /** The last prompt token's projection. */
  lastPrompt: number;
}

export interface ScreenOptions {
  /** Generate the model's own answers: needed by ΔP and the token metrics (metrics.ts `ownAnswer`). */
  computeDelta: boolean;
  /** Return each sample's per-token projections (for measurements; the metric cache is then not read). */
  keepTokenProjections?: boolean;
  /** Return the text around each trait's peak tokens (hovers, Problems, SARIF). */
  peakExcerpts?: boolean;
  cacheRoot?: string;
  /** Longest own response generated for ΔP. */
  ownResponseTokens?: number;
  /** Samples longer than this (prompt + response tokens) are reported and skipped. */
  maxSampleTokens?: number;
  batchSize?: number;
}

const unit = (v: Float32Array): Float32Array => {
  let n = 0;
  for (const x of v) n += x * x;
  n = Math.sqrt(n);
  if (n === 0) throw new RangeError('a screening vector is zero at its layer');
  return v.map((x) => x / n);
};

/** Part of every cached metric's key: a change to how metrics are computed never reads old numbers. */
const METRICS_FORMAT = 'm2';

/** Longest own answer generated when `ownResponseTokens` is not given. */
export const DEFAULT_OWN_RESPONSE_TOKENS = 128;

/** What the projection and fast ΔP are (they never read the model's own answer). */
const plainMetrics = (m: { projection: number; fastDelta: number }): CachedMetrics => ({ projection: m.projection, fastDelta: m.fastDelta });
/** What ΔP and the token metrics are (they depend on the own answer, so on its length). */
const ownAnswerMetrics = (m: CachedMetricsPart): CachedMetricsPart => {
  const { projection: _p, fastDelta: _f, ...rest } = m;
  return rest;
};

export function vectorKey(v: ScreeningVector): string {
  return createHash('sha256').update(Buffer.from(v.direction.buffer, v.direction.byteOffset, v.direction.byteLength)).update(`:${v.layer}`).digest('hex').slice(0, 16);
}

export class Screener {
  private readonly units: Float32Array[];
  private readonly keys: string[];
  private readonly rows: number[];
  private readonly cache?: ScreeningCache;
  private readonly ownTokens: number;

  constructor(private readonly model: LoadedModel, private readonly vectors: ScreeningVector[], private readonly options: ScreenOptions) {
    const d = model.checkpoint.spec.hiddenSize;
    for (const v of vectors) {
      if (v.direction.length !== d) throw new RangeError(`vector "${v.name}" has width ${v.direction.length}; the model's hidden size is ${d}`);
      if (!Number.isInteger(v.layer) || v.layer < 0 || v.layer > model.checkpoint.spec.numLayers) throw new RangeError(`vector "${v.name}": layer ${v.layer} is outside 0–${model.checkpoint.spec.numLayers}`);
    }
    this.units = vectors.map((v) => unit(v.direction));
    this.keys = vectors.map((v) => `${vectorKey(v)}:${METRICS_FORMAT}`);
    this.ownTokens = options.ownResponseTokens ?? DEFAULT_OWN_RESPONSE_TOKENS;
    this.rows = [...new Set(vectors.map((v) => v.layer))];
    if (options.cacheRoot) this.cache = new ScreeningCache(options.cacheRoot, model.checkpoint.fingerprint);
  }

  /** Scores samples as they stream in; issues pass through. Yields in input order. */
  async *screen(items: AsyncIterable<DatasetItem> | Iterable<DatasetItem>, ctx?: RunContext): AsyncGenerator<ScreenedSample | DatasetIssue> {
    const batchSize = this.options.batchSize ?? 8;
    let pending: (DatasetItem & { kind: 'sample' })[] = [];
    let done = 0;
    const flush = async function* (this: Screener): AsyncGenerator<ScreenedSample | DatasetIssue> {
      if (!pending.length) return;
      await ctx?.checkpoint();
      const batch = pending;
      pending = [];
      yield* await this.scoreBatch(batch);
      done += batch.length;
      ctx?.progress(done, 0, `${done} samples screened`);
    };
    for await (const item of items) {
      if (item.kind === 'issue') {
        yield item;
        continue;
      }
      pending.push(item);
      if (pending.length >= batchSize) yield* flush.call(this);
    }
    yield* flush.call(this);
  }

  private async scoreBatch(batch: (DatasetSample & { kind: 'sample' })[]): Promise<(ScreenedSample | DatasetIssue)[]> {
    const { tokenizer } = this.model;
    const context = this.model.checkpoint.spec.maxPositions;
    const maxTokens = Math.min(this.options.maxSampleTokens ?? 2048, context);
    const limitName = maxTokens === context ? `the model's ${context}-position context` : `the ${maxTokens}-token limit`;
    const out: (ScreenedSample | DatasetIssue | undefined)[] = new Array(batch.length);
    const todo: { i: number; promptIds: number[]; responseIds: number[] }[] = [];
    batch.forEach((s, i) => {
      const promptIds = tokenizer.chat(s.prompt, true);
      const cached = this.options.keepTokenProjections ? undefined : this.cachedScores(s.hash);
      if (cached) {
        out[i] = this.result(s, cached.scores, this.options.computeDelta ? this.cache?.response(this.responseKey(promptIds))?.text : undefined, 0, this.options.peakExcerpts ? tokenizer.encode(s.response, false) : undefined);
        return;
      }
      const responseIds = tokenizer.encode(s.response, false);
      if (!responseIds.length) out[i] = issue(s, 'the assistant response is empty: nothing to score');
      else if (promptIds.length + responseIds.length > maxTokens) out[i] = issue(s, `the sample has ${promptIds.length + responseIds.length} tokens, over ${limitName}: skipped`);
      else todo.push({ i, promptIds, responseIds });
    });
    if (todo.length) {
      const dataset = await this.projections(todo.map((t) => ({ promptIds: t.promptIds, responseIds: t.responseIds })));
      let own: { text: string; ids: number[]; projection: number[]; tokens: number[][] }[] | undefined;
      if (this.options.computeDelta) own = await this.ownResponses(todo.map((t) => t.promptIds));
      todo.forEach((t, k) => {
        const s = batch[t.i];
        const scores: Record<string, TraitScores> = {};
        const tokens: Record<string, TokenProjections> = {};
        const alignment = own && alignTokens(t.responseIds, own[k].ids);
        this.vectors.forEach((v, j) => {
          const metrics: TraitScores = { projection: dataset[k].response[j], fastDelta: dataset[k].response[j] - dataset[k].lastPrompt[j] };
          if (own) Object.assign(metrics, { delta: dataset[k].response[j] - own[k].projection[j] }, poolTokens(tokenDeltas(dataset[k].tokens[j], own[k].tokens[j], alignment!)));
          scores[v.name] = metrics;
          if (this.options.keepTokenProjections) tokens[v.name] = { response: dataset[k].tokens[j], ids: t.responseIds, own: own?.[k].tokens[j], ownIds: own?.[k].ids, lastPrompt: dataset[k].lastPrompt[j] };
          this.cache?.setMetric(this.plainKey(s.hash, j), plainMetrics(metrics));
          if (own) this.cache?.setMetric(this.ownAnswerKey(s.hash, j), ownAnswerMetrics(metrics));
        });
        out[t.i] = { ...this.result(s, scores, own?.[k].text, t.responseIds.length, t.responseIds), ...(this.options.keepTokenProjections ? { tokenProjections: tokens } : {}) };
      });
    }
    return out as (ScreenedSample | DatasetIssue)[];
  }

  private responseKey(promptIds: number[]): string {
    return createHash('sha256').update(`${this.ownTokens}:${promptIds.join(',')}`).digest('hex').slice(0, 24);
  }

  private plainKey(hash: string, j: number): string {
    return `${hash}:${this.keys[j]}`;
  }

  /** ΔP and the token metrics: a longer own answer is another answer, so its length is part of the key. */
  private ownAnswerKey(hash: string, j: number): string {
    return `${hash}:${this.keys[j]}:own${this.ownTokens}`;
  }

  /** Every vector's metrics from the cache (with ΔP and the token metrics when they are asked for), or nothing. */
  private cachedScores(hash: string): { scores: Record<string, TraitScores> } | undefined {
    if (!this.cache) return undefined;
    const scores: Record<string, TraitScores> = {};
    for (let j = 0; j < this.vectors.length; j++) {
      const plain = this.cache.metric(this.plainKey(hash, j));
      if (plain?.projection === undefined || plain.fastDelta === undefined) return undefined;
      let metrics = plainMetrics({ projection: plain.projection, fastDelta: plain.fastDelta });
      if (this.options.computeDelta) {
        const own = this.cache.metric(this.ownAnswerKey(hash, j));
        if (own?.delta === undefined) return undefined;
        metrics = { ...metrics, ...ownAnswerMetrics(own) };
      }
      scores[this.vectors[j].name] = metrics;
    }
    return { scores };
  }

  private result(s: DatasetSample, scores: Record<string, TraitScores>, ownResponse: string | undefined, responseTokens: number, responseIds?: number[]): ScreenedSample {
    const { prompt: _prompt, ...rest } = s;
    const sample: ScreenedSample = { ...rest, kind: 'scored', scores, ownResponse, responseTokens };
    if (this.options.peakExcerpts && responseIds) {
      const decode = (ids: number[]) => this.model.tokenizer.decode(ids);
      sample.peaks = Object.fromEntries(Object.entries(scores).flatMap(([trait, m]) => (m.peak ? [[trait, peakExcerpt(responseIds, decode, m.peak)]] : [])));
    }
    return sample;
  }

  /** One left-padded forward pass: per sample and vector, response-mean, per-token and last-prompt projections. */
  private async projections(items: { promptIds: number[]; responseIds: number[] }[]): Promise<{ response: number[]; tokens: number[][]; lastPrompt: number[] }[]> {
    const d = this.model.checkpoint.spec.hiddenSize;
    const seqs = items.map((x) => [...x.promptIds, ...x.responseIds]);
    const { tokens, valid, length: S } = leftPadded(seqs);
    const out = await this.model.session.forward({
      tokens,
      valid,
      captureRows: this.rows,
      logits: 'none',
    });
    return items.map((x, b) => {
      const respStart = S - x.responseIds.length;
      const response: number[] = [];
      const tokens: number[][] = [];
      const lastPrompt: number[] = [];
      this.vectors.forEach((v, j) => {
        const h = out.hidden.get(v.layer)!;
        const u = this.units[j];
        const dotAt = (s: number) => {
          let dot = 0;
          const base = (b * S + s) * d;
          for (let i = 0; i < d; i++) dot += h[base + i] * u[i];
          return dot;
        };
        const perToken: number[] = [];
        for (let s = respStart; s < S; s++) perToken.push(dotAt(s));
        tokens.push(perToken);
        response.push(perToken.reduce((a, b) => a + b, 0) / perToken.length);
        lastPrompt.push(dotAt(respStart - 1));
      });
      return { response, tokens, lastPrompt };
    });
  }

  /** The model's own greedy answers (cached per prompt), and their projections. */
  private async ownResponses(prompts: number[][]): Promise<{ text: string; ids: number[]; projection: number[]; tokens: number[][] }[]> {
    const limit = this.ownTokens;
    const keyOf = (p: number[]) => this.responseKey(p);
    const missing = prompts.map((p, i) => ({ p, i })).filter(({ p }) => !this.cache?.response(keyOf(p)));
    const fresh = new Map<number, { text: string; ids: number[] }>();
    if (missing.length) {
      const gen = await generate(this.model.session, this.model.tokenizer, { prompts: missing.map((m) => m.p), maxTokens: limit, eosTokenIds: this.model.eosTokenIds });
      missing.forEach((m, k) => {
        const value = { text: gen.texts[k], ids: gen.tokens[k] };
        fresh.set(m.i, value);
        this.cache?.setResponse(keyOf(m.p), value);
      });
    }
    const answers = prompts.map((p, i) => fresh.get(i) ?? this.cache!.response(keyOf(p))!);
    const projection: number[][] = new Array(prompts.length);
    const tokens: number[][][] = new Array(prompts.length);
    const withText = answers.flatMap((a, i) => (a.ids.length ? [i] : []));
    const empty = answers.flatMap((a, i) => (a.ids.length ? [] : [i]));
    const keep = (at: number[]) => (p: { response: number[]; tokens: number[][] }, k: number) => {
      projection[at[k]] = p.response;
      tokens[at[k]] = p.tokens;
    };
    if (withText.length) (await this.projections(withText.map((i) => ({ promptIds: prompts[i], responseIds: answers[i].ids })))).forEach(keep(withText));
    // An empty own answer (immediate EOS) has no response tokens: its projection is the last prompt token's.
    if (empty.length) (await this.projections(empty.map((i) => ({ promptIds: prompts[i].slice(0, -1), responseIds: prompts[i].slice(-1) })))).forEach(keep(empty));
    return answers.map((a, i) => ({ text: a.text, ids: a.ids, projection: projection[i], tokens: tokens[i] }));
  }
}

function issue(s: DatasetSample, message: string): DatasetIssue {
  return { kind: 'issue', startLine: s.startLine, endLine: s.endLine, message };
}
