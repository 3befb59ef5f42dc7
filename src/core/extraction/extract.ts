/**
 * The paper's extraction pipeline, end to end, for any loaded model and any judge:
 * rollouts of every (extraction question × instruction pair × sample) under the positive and negative system
 * prompts → judge trait and coherence → keep index-aligned pairs (pos ≥ 50, neg < 50, both coherent) →
 * residual averages of the kept responses at every row → vector = mean(pos) − mean(neg), [layers+1, d] per variant
 * → layer search on the evaluation questions (+α, a random control, −α under eliciting prompts) to recommend a
 * layer and coefficient, then its validation (layerSearch.ts).
 * Everything is cached (ExtractionStore), so a re-run resumes and only computes what changed.
 */
import { progressReporter, type RunContext } from '../cancellation';
import { JUDGE_CHUNK, judgeCacheId, type Judge } from '../judges/judge';
import type { LoadedModel } from '../model/loadedModel';
import type { TraitDefinition } from '../traits/trait';
import { traitHash } from '../traits/traitFile';
import { generate } from '../model/generate';
import { ACTIVATION_VARIANTS, conversationActivations, projectRows, rowNorms, type ActivationVariant, type ConversationActivations } from './activationStats';
import { ExtractionStore } from './store';
import { calibrateVector, type VectorCalibration } from '../screening/calibration';
import type { SweepCell } from './steeringSweep';
import { elicitingPrompts, recommend, searchLayers, splitEvaluationQuestions, validateSteering, validationCells, type LayerSearch, type Recommendation, type SteeringValidation } from './layerSearch';
import { DEFAULT_STEERING_EVALUATION, evaluationPlan, type SteeringEvaluation } from './steeringEvaluation';
import { describeSearchPlan, formatTokens, planSearch, SearchBudgetError, type SearchPlan, type SearchStrategy } from './searchPlan';
import { DEFAULT_MAX_BATCH } from './steeringCells';
import { VERSION } from '../version';

export interface ExtractionOptions {
  cacheRoot: string;
  samplesPerQuestion?: number;
  /** 0 = greedy. With several samples per question, sampling is used (default temperature 1). */
  temperature?: number;
  maxTokens?: number;
  traitThreshold?: number;
  coherenceThreshold?: number;
  seed?: number;
  /** Answers generated per batch (rollouts, search and validation cells); default DEFAULT_MAX_BATCH. */
  batchSize?: number;
  sweep?: {
    /** Residual rows to try (default: every block output 1 … L). */
    rows?: number[];
    coefficients?: number[];
    /** How many evaluation questions to use (default all): every other one is held out for the validation. */
    questions?: number;
    /** Tokens per steered answer (default the smaller of 64 and the rollouts' maxTokens). */
    maxTokens?: number;
    /** Default 'budgeted' (searchPlan.ts). */
    strategy?: SearchStrategy;
    /** Rows the budgeted search steers, best by effect size first (default: a quarter of the rows, at least 5). */
    candidateRows?: number;
    /** Cap on the search's generated tokens (planned before any rollout). */
    budgetTokens?: number;
    /** How steered answers are sampled (default: temperature 1, 3 answers per question, as the paper evaluates). */
    evaluation?: SteeringEvaluation;
    /** Validate the recommendation (dose–response, random control, suppression); default true. */
    validate?: boolean;
  } | false;
}

export interface LayerSeparation {
  posMean: number;
  posStd: number;
  negMean: number;
  negStd: number;
  /** (posMean − negMean) / pooled std: how linearly readable the trait is at this row. */
  effectSize: number;
}

export interface ExtractionResult {
  trait: string;
  rows: number;
  d: number;
  vectors: Record<ActivationVariant, Float32Array>;
  keptPairs: number;
  totalPairs: number;
  /** Per row, projections of kept response averages on v̂ (response_avg). */
  separation: LayerSeparation[];
  /** Mean residual norm per row over kept responses. */
  residualNorms: Float32Array;
  vectorNorms: Float64Array;
  /** One cell per (row, α): +α on neutral prompts, its random control, and −α under eliciting prompts. */
  sweep: SweepCell[];
  /** Unsteered reference points of the sweep (neutral and eliciting prompts). */
  sweepBaseline?: Pick<LayerSearch, 'baseline' | 'elicited'>;
  /** The layer search's plan (rounds, cells, planned tokens). */
  searchPlan?: SearchPlan;
  recommended?: Recommendation;
  /** Dose–response with its random control and suppression under eliciting prompts, at the recommendation. */
  validation?: SteeringValidation;
  /** Screening metrics of the kept answers at the recommended layer (the calibrated default threshold). */
  calibration?: VectorCalibration;
  judge: string;
  cacheFolder: string;
}

export class ExtractionError extends Error {}

const PAIR_PHASE = 'extract';

export async function extractPersonaVector(model: LoadedModel, trait: TraitDefinition, judge: Judge, options: ExtractionOptions, ctx?: RunContext): Promise<ExtractionResult> {
  const samples = options.samplesPerQuestion ?? 1;
  const temperature = options.temperature ?? (samples > 1 ? 1 : 0);
  const maxTokens = options.maxTokens ?? 128;
  const traitThreshold = options.traitThreshold ?? 50;
  const coherenceThreshold = options.coherenceThreshold ?? 50;
  const seed = options.seed ?? 0;
  const { session, tokenizer } = model;
  const rows = session.rows;
  const d = model.checkpoint.spec.hiddenSize;
  const store = new ExtractionStore(options.cacheRoot, model.checkpoint.fingerprint, traitHash(trait), (line) => ctx?.log?.(line));
  const judgeId = judgeCacheId(judge);
  if (options.sweep) checkSweepOptions(options.sweep, rows);
  checkExtractionOptions({ samples, temperature, maxTokens, traitThreshold, coherenceThreshold });
  const batchSize = options.batchSize ?? DEFAULT_MAX_BATCH;
  if (!(Number.isInteger(batchSize) && batchSize >= 1)) throw new ExtractionError(`the batch size must be a whole number ≥ 1 (got ${batchSize})`);
  // Everything that changes a rollout is in its key: a rerun with another seed or another version makes new ones.
  const keyOf = (q: number, p: number, s: number, polarity: 'pos' | 'neg') => `${PAIR_PHASE}:q${q}:p${p}:s${s}:${polarity}:t${temperature}:m${maxTokens}:seed${seed}:v${VERSION}`;

  // 0. The plan, before any generation: a search over its budget fails now, not after the rollouts.
  const questions = trait.extractionQuestions;
  const totalRollouts = questions.length * trait.instructions.length * samples * 2;
  const search = options.sweep === false ? undefined : planLayerSearch(options.sweep ?? {}, trait, rows, maxTokens);
  ctx?.log?.(`plan: ${totalRollouts} rollouts of up to ${maxTokens} tokens (${formatTokens(totalRollouts * maxTokens)})${search ? `; ${describeSearchPlan(search.plan)}; validation up to ${formatTokens(search.validationTokens)}` : '; no layer search'}`);

  // 1. Rollouts: every (question × pair × sample × polarity) not in the cache, in batches of `batchSize`. Each one's
  // sampler is seeded by its own indices, so a resumed run makes the rollouts an uninterrupted one would have.
  const jobs: { key: string; question: string; system: string; promptIds: number[]; seed: number }[] = [];
  for (let q = 0; q < questions.length; q++) {
    let b = 0;
    for (let p = 0; p < trait.instructions.length; p++)
      for (let s = 0; s < samples; s++)
        for (const polarity of ['pos', 'neg'] as const) {
          const key = keyOf(q, p, s, polarity);
          const rowSeed = seed + q * 1009 + b++ * 7919;
          if (store.rollout(key)) continue;
          const system = trait.instructions[p][polarity];
          jobs.push({ key, question: questions[q], system, seed: rowSeed, promptIds: tokenizer.chat([{ role: 'system', content: system }, { role: 'user', content: questions[q] }], true) });
        }
  }
  const progress = progressReporter(ctx, totalRollouts);
  let done = totalRollouts - jobs.length;
  let rolloutTokens = 0;
  let rolloutSeconds = 0;
  for (let start = 0; start < jobs.length; start += batchSize) {
    await ctx?.checkpoint();
    const batch = jobs.slice(start, start + batchSize);
    const began = performance.now();
    const result = await generate(session, tokenizer, { prompts: batch.map((j) => j.promptIds), maxTokens, eosTokenIds: model.eosTokenIds, sampling: { temperature }, seeds: batch.map((j) => j.seed) });
    rolloutSeconds += (performance.now() - began) / 1000;
    rolloutTokens += result.tokens.reduce((a, t) => a + t.length, 0);
    batch.forEach((j, i) => store.addRollout({ key: j.key, question: j.question, system: j.system, promptIds: j.promptIds, responseIds: result.tokens[i], text: result.texts[i] }));
    progress((done += batch.length), 'rollouts');
  }
  const tokensPerSecond = rolloutTokens > 0 && rolloutSeconds > 0 ? rolloutTokens / rolloutSeconds : undefined;

  // 2. Judge every rollout (cached per judge), concurrently: an HTTP judge bounds its own requests in flight.
  const unjudged: string[] = [];
  for (let q = 0; q < questions.length; q++)
    for (let p = 0; p < trait.instructions.length; p++)
      for (let s = 0; s < samples; s++) for (const polarity of ['pos', 'neg'] as const) if (!store.score(judgeId, keyOf(q, p, s, polarity))) unjudged.push(keyOf(q, p, s, polarity));
  const judging = progressReporter(ctx, unjudged.length);
  let judged = 0;
  for (let start = 0; start < unjudged.length; start += JUDGE_CHUNK) {
    await ctx?.checkpoint();
    await Promise.all(
      unjudged.slice(start, start + JUDGE_CHUNK).map(async (key) => {
        const rollout = store.rollout(key)!;
        const score = await judge.score({ trait, question: rollout.question, answer: rollout.text }, ctx?.signal);
        store.addScore({ key, judge: judgeId, ...score });
        judging(++judged, 'judging rollouts');
      }),
    );
  }

  // 3. Keep index-aligned pairs that show the contrast, coherently.
  const kept: { pos: string; neg: string }[] = [];
  let totalPairs = 0;
  for (let q = 0; q < questions.length; q++)
    for (let p = 0; p < trait.instructions.length; p++)
      for (let s = 0; s < samples; s++) {
        totalPairs++;
        const pos = store.score(judgeId, keyOf(q, p, s, 'pos'))!;
        const neg = store.score(judgeId, keyOf(q, p, s, 'neg'))!;
        const coherent = (x: typeof pos) => x.coherence !== null && x.coherence >= coherenceThreshold;
        if (pos.trait !== null && neg.trait !== null && pos.trait >= traitThreshold && neg.trait < traitThreshold && coherent(pos) && coherent(neg)) {
          kept.push({ pos: keyOf(q, p, s, 'pos'), neg: keyOf(q, p, s, 'neg') });
        }
      }
  if (kept.length === 0) {
    throw new ExtractionError(
      `No contrastive pair passed the filter (positive ≥ ${traitThreshold}, negative < ${traitThreshold}, both coherence ≥ ${coherenceThreshold}) out of ${totalPairs}: the model does not show "${trait.name}" under its instructions, or the judge does not see it. Check a few rollouts in ${store.folder}, lower the thresholds, or use a stronger judge.`,
    );
  }

  // 4. Residual averages of the kept responses.
  const actsOf = async (key: string): Promise<ConversationActivations> => {
    const cached = store.activations(key, rows, d);
    if (cached) return cached;
    await ctx?.checkpoint();
    const r = store.rollout(key)!;
    const acts = await conversationActivations(session, r.promptIds, r.responseIds);
    store.addActivations(key, acts);
    return acts;
  };
  const sums = { pos: newSums(rows * d), neg: newSums(rows * d) };
  const normSum = new Float64Array(rows);
  const posActs: Float32Array[] = [];
  const negActs: Float32Array[] = [];
  let n = 0;
  for (const pair of kept) {
    const pos = await actsOf(pair.pos);
    const neg = await actsOf(pair.neg);
    for (const variant of ACTIVATION_VARIANTS) {
      addInto(sums.pos[variant], pos.means[variant]);
      addInto(sums.neg[variant], neg.means[variant]);
    }
    for (let r = 0; r < rows; r++) normSum[r] += (pos.responseNorms[r] + neg.responseNorms[r]) / 2;
    posActs.push(pos.means.response_avg);
    negActs.push(neg.means.response_avg);
    ctx?.progress(++n, kept.length, `activations: ${n}/${kept.length} kept pairs`);
  }
  const vectors = Object.fromEntries(
    ACTIVATION_VARIANTS.map((variant) => {
      const v = new Float32Array(rows * d);
      for (let i = 0; i < v.length; i++) v[i] = (sums.pos[variant][i] - sums.neg[variant][i]) / kept.length;
      return [variant, v];
    }),
  ) as Record<ActivationVariant, Float32Array>;
  const residualNorms = Float32Array.from(normSum, (x) => x / kept.length);
  const separation = layerSeparation(posActs, negActs, vectors.response_avg, rows, d);
  const vectorNorms = rowNorms(vectors.response_avg, rows, d);

  // 5. Layer search on evaluation questions (induce, random control, suppress) → recommended layer and α, validated.
  let sweep: SweepCell[] = [];
  let sweepBaseline: ExtractionResult['sweepBaseline'];
  let recommended: Recommendation | undefined;
  let validation: SteeringValidation | undefined;
  let searchPlan: SearchPlan | undefined;
  if (search) {
    // Rows most separating first: the budgeted search steers only the best of them.
    const ranked = [...search.rows].sort((a, b) => separation[b].effectSize - separation[a].effectSize || a - b);
    ctx?.log?.(`${describeSearchPlan(search.plan, tokensPerSecond)}; rows by effect size: ${ranked.slice(0, search.plan.candidateRows).map((r) => `${r} (${separation[r].effectSize.toFixed(1)})`).join(', ')}`);
    const found = await searchLayers(
      model,
      judge,
      { trait, vector: vectors.response_avg, rows: ranked, coefficients: search.coefficients, plan: search.plan, questions: search.questions.search, maxTokens: search.maxTokens, evaluation: search.evaluation, coherenceThreshold, cache: store, maxBatch: batchSize },
      ctx,
    );
    searchPlan = search.plan;
    sweep = found.cells;
    sweepBaseline = { baseline: found.baseline, elicited: found.elicited };
    for (const cell of sweep) cell.relativeStrength = (Math.abs(cell.coefficient) * vectorNorms[cell.row]) / (residualNorms[cell.row] || 1);
    recommended = recommend(found, coherenceThreshold);
    if (recommended && search.validate) {
      validation = await validateSteering(
        model,
        judge,
        { trait, vector: vectors.response_avg, layer: recommended.layer, coefficient: recommended.coefficient, questions: search.questions.validation, heldOut: search.questions.heldOut, maxTokens: search.maxTokens, evaluation: search.evaluation, cache: store, maxBatch: batchSize },
        ctx,
      );
    }
  }

  // 6. Calibration at the recommended layer: the kept answers screened as dataset samples (calibration.ts).
  let calibration: VectorCalibration | undefined;
  if (recommended) {
    const layer = recommended.layer;
    const direction = vectors.response_avg.slice(layer * d, (layer + 1) * d);
    const monitor = { antiEliciting: [] as number[], eliciting: [] as number[] };
    for (const pair of kept) {
      monitor.eliciting.push(projectRows((await actsOf(pair.pos)).means.prompt_last, vectors.response_avg, rows, d)[layer]);
      monitor.antiEliciting.push(projectRows((await actsOf(pair.neg)).means.prompt_last, vectors.response_avg, rows, d)[layer]);
    }
    const answers = kept.map((pair) => ({ question: store.rollout(pair.pos)!.question, positive: store.rollout(pair.pos)!.text, negative: store.rollout(pair.neg)!.text }));
    ctx?.log?.(`calibrating the screening threshold on ${answers.length} kept pairs at row ${layer}`);
    calibration = await calibrateVector(model, { name: trait.name, layer, direction }, answers, monitor, { cacheRoot: options.cacheRoot, ownResponseTokens: maxTokens }, ctx);
  }

  return {
    trait: trait.name,
    rows,
    d,
    vectors,
    keptPairs: kept.length,
    totalPairs,
    separation,
    residualNorms,
    vectorNorms,
    sweep,
    sweepBaseline,
    searchPlan,
    recommended,
    validation,
    calibration,
    judge: judge.id,
    cacheFolder: store.folder,
  };
}

/**
 * The layer search's settings with their defaults, and its plan (throws ExtractionError when over its budget). Steered answers default to 64 tokens at most:
 * enough for the judge to see the persona, half the cost of the rollouts' 128.
 */
export function planLayerSearch(sweep: NonNullable<Exclude<ExtractionOptions['sweep'], false>>, trait: TraitDefinition, rows: number, maxTokens: number) {
  const evaluation = sweep.evaluation ?? DEFAULT_STEERING_EVALUATION;
  const questions = splitEvaluationQuestions(trait.evaluationQuestions.slice(0, sweep.questions ?? trait.evaluationQuestions.length));
  if (!questions.search.length) throw new ExtractionError(`trait "${trait.name}" has no evaluation questions: the layer search needs some (or skip it)`);
  const searchRows = sweep.rows ?? Array.from({ length: rows - 1 }, (_, i) => i + 1);
  const coefficients = sweep.coefficients ?? [1, 2, 4];
  const searchMaxTokens = sweep.maxTokens ?? Math.min(64, maxTokens);
  const prompts = elicitingPrompts(trait).length;
  const samplesPerQuestion = evaluationPlan(['q'], evaluation).questions.length;
  let plan: SearchPlan;
  try {
    plan = planSearch({ strategy: sweep.strategy ?? 'budgeted', rows: searchRows.length, coefficients: coefficients.length, questions: questions.search.length, samplesPerQuestion, maxTokens: searchMaxTokens, elicitingPrompts: prompts, candidateRows: sweep.candidateRows, budgetTokens: sweep.budgetTokens });
  } catch (e) {
    if (e instanceof SearchBudgetError) throw new ExtractionError(e.message);
    throw e;
  }
  const validationTokens = sweep.validate === false ? 0 : validationCells(prompts) * questions.validation.length * samplesPerQuestion * searchMaxTokens;
  return { evaluation, questions, rows: searchRows, coefficients, maxTokens: searchMaxTokens, plan, validationTokens, validate: sweep.validate !== false };
}

/** Checked before any rollout, so a bad option never costs a run. */
function checkExtractionOptions(o: { samples: number; temperature: number; maxTokens: number; traitThreshold: number; coherenceThreshold: number }): void {
  if (!(Number.isInteger(o.samples) && o.samples >= 1)) throw new ExtractionError(`samples per question must be a whole number ≥ 1 (got ${o.samples})`);
  if (!(Number.isFinite(o.temperature) && o.temperature >= 0)) throw new ExtractionError(`the rollout temperature must be ≥ 0 (got ${o.temperature})`);
  if (!(Number.isInteger(o.maxTokens) && o.maxTokens >= 1)) throw new ExtractionError(`tokens per rollout must be a whole number ≥ 1 (got ${o.maxTokens})`);
  for (const [what, t] of [['trait', o.traitThreshold], ['coherence', o.coherenceThreshold]] as const)
    if (!(Number.isFinite(t) && t >= 0 && t <= 100)) throw new ExtractionError(`the ${what} threshold must be within 0–100 (got ${t})`);
}

function checkSweepOptions(sweep: NonNullable<Exclude<ExtractionOptions['sweep'], false>>, rows: number): void {
  const bad = sweep.rows?.filter((r) => !Number.isInteger(r) || r < 1 || r >= rows);
  if (bad?.length) throw new ExtractionError(`sweep layers ${bad.join(', ')} are not block outputs of this model: choose rows 1–${rows - 1} (row 0 is the embeddings)`);
  if (sweep.questions !== undefined && !(Number.isInteger(sweep.questions) && sweep.questions >= 1)) throw new ExtractionError(`sweep questions must be a whole number ≥ 1 (got ${sweep.questions})`);
  if (sweep.coefficients && !sweep.coefficients.every((c) => Number.isFinite(c) && c > 0)) throw new ExtractionError(`sweep coefficients must be positive numbers (got ${sweep.coefficients.join(', ')}): −α is measured under the eliciting prompts automatically`);
  if (sweep.rows && sweep.rows.length === 0) throw new ExtractionError('the sweep needs at least one layer');
  if (sweep.maxTokens !== undefined && !(Number.isInteger(sweep.maxTokens) && sweep.maxTokens >= 1)) throw new ExtractionError(`tokens per steered answer must be a whole number ≥ 1 (got ${sweep.maxTokens})`);
  if (sweep.strategy !== undefined && sweep.strategy !== 'budgeted' && sweep.strategy !== 'exhaustive') throw new ExtractionError(`the layer search is "budgeted" or "exhaustive" (got ${String(sweep.strategy)})`);
  if (sweep.candidateRows !== undefined && !(Number.isInteger(sweep.candidateRows) && sweep.candidateRows >= 1)) throw new ExtractionError(`candidate rows of the layer search must be a whole number ≥ 1 (got ${sweep.candidateRows})`);
  if (sweep.budgetTokens !== undefined && !(Number.isFinite(sweep.budgetTokens) && sweep.budgetTokens > 0)) throw new ExtractionError(`the layer search's token budget must be a positive number (got ${sweep.budgetTokens})`);
  const e = sweep.evaluation;
  if (e && !(Number.isInteger(e.samplesPerQuestion) && e.samplesPerQuestion >= 1)) throw new ExtractionError(`answers per question in the layer search must be a whole number ≥ 1 (got ${e.samplesPerQuestion})`);
  if (e && !(Number.isFinite(e.temperature) && e.temperature >= 0)) throw new ExtractionError(`the layer search's temperature must be ≥ 0 (got ${e.temperature})`);
}

function newSums(n: number): Record<ActivationVariant, Float64Array> {
  return { response_avg: new Float64Array(n), prompt_avg: new Float64Array(n), prompt_last: new Float64Array(n) };
}

function addInto(acc: Float64Array, x: Float32Array): void {
  for (let i = 0; i < x.length; i++) acc[i] += x[i];
}

function layerSeparation(pos: Float32Array[], neg: Float32Array[], v: Float32Array, rows: number, d: number): LayerSeparation[] {
  const pp = pos.map((x) => projectRows(x, v, rows, d));
  const np = neg.map((x) => projectRows(x, v, rows, d));
  const stats = (xs: number[]) => {
    const m = xs.reduce((a, b) => a + b, 0) / xs.length;
    const sd = Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / Math.max(1, xs.length - 1));
    return { m, sd };
  };
  return Array.from({ length: rows }, (_, r) => {
    const a = stats(pp.map((p) => p[r]));
    const b = stats(np.map((p) => p[r]));
    const pooled = Math.sqrt((a.sd ** 2 + b.sd ** 2) / 2);
    return { posMean: a.m, posStd: a.sd, negMean: b.m, negStd: b.sd, effectSize: pooled > 0 ? (a.m - b.m) / pooled : 0 };
  });
}
