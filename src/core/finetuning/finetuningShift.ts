/**
 * Finetuning shift (Chen et al. 2025, §5): how far a fine-tune moved the model along a persona direction,
 * measured before any generation as (mean last-prompt-token residual of tuned − base) · v̂, over the trait's
 * evaluation questions without a system prompt. The paper finds it predicts the judged trait change.
 * Two models are rarely in memory together, so each side is profiled on its own (modelProfile) and the profiles
 * are compared afterwards (compareProfiles).
 */
import { leftPadded } from '../model/decoderSession';
import { cancelOnly, type RunContext } from '../cancellation';
import type { Judge } from '../judges/judge';
import type { LoadedModel } from '../model/loadedModel';
import type { TraitDefinition } from '../traits/trait';
import { generate } from '../model/generate';
import { meanScore, normMatchedRandom } from '../extraction/steeringSweep';
import * as path from 'node:path';
import { loadTraitVector, type TraitVector } from '../vectors/traitVector';
import { findTrait } from '../traits/builtinTraits';

export interface ShiftTrait {
  vector: TraitVector;
  /** Questions to prompt with (the trait's evaluation questions); their definition for the judge. */
  trait: TraitDefinition;
}

export interface ScoreSummary {
  trait: number;
  coherence: number;
  samples: { question: string; text: string; trait: number | null; coherence: number | null }[];
}

/** One model's side of the comparison, per trait. */
export interface ModelProfile {
  model: string;
  rows: number;
  d: number;
  traits: {
    name: string;
    /** Mean last-prompt-token residual over the questions, [rows·d]. */
    meanLastPrompt: Float64Array;
    /** Judged trait / coherence of greedy answers (absent without a judge). */
    scores?: ScoreSummary;
  }[];
}

export interface ProfileOptions {
  /** The judge of each trait's answers; none (or undefined for a trait) skips judging. */
  judges?: Map<string, Judge>;
  /** Evaluation questions per trait (default all). */
  questions?: number;
  maxTokens?: number;
  /** Prompts per forward pass (memory bound for large models). */
  batchSize?: number;
}

export async function modelProfile(model: LoadedModel, label: string, traits: ShiftTrait[], options: ProfileOptions = {}, ctx?: RunContext): Promise<ModelProfile> {
  const rows = model.session.rows;
  const d = model.checkpoint.spec.hiddenSize;
  const profile: ModelProfile = { model: label, rows, d, traits: [] };
  const total = traits.reduce((n, t) => n + (options.judges?.has(t.trait.name) ? 2 : 1), 0);
  let done = 0;
  for (const { trait } of traits) {
    const questions = trait.evaluationQuestions.slice(0, options.questions ?? trait.evaluationQuestions.length);
    // No system prompt: the fine-tune's default persona is what it learned.
    const prompts = questions.map((q) => model.tokenizer.chat([{ role: 'user', content: q }], true));
    const meanLastPrompt = await meanLastTokenResiduals(model, prompts, options.batchSize ?? 8, ctx);
    ctx?.progress(++done, total, `${label}: ${trait.name} activations`);
    let scores: ScoreSummary | undefined;
    const judge = options.judges?.get(trait.name);
    if (judge) {
      await ctx?.checkpoint();
      const texts: string[] = [];
      for (let start = 0; start < prompts.length; start += options.batchSize ?? 8) {
        const out = await generate(model.session, model.tokenizer, { prompts: prompts.slice(start, start + (options.batchSize ?? 8)), maxTokens: options.maxTokens ?? 64, eosTokenIds: model.eosTokenIds }, cancelOnly(ctx));
        texts.push(...out.texts);
      }
      const samples: ScoreSummary['samples'] = [];
      for (let i = 0; i < prompts.length; i++) {
        const s = await judge.score({ trait, question: questions[i], answer: texts[i] }, ctx?.signal);
        samples.push({ question: questions[i], text: texts[i], trait: s.trait, coherence: s.coherence });
      }
      scores = { trait: meanScore(samples.map((s) => s.trait)), coherence: meanScore(samples.map((s) => s.coherence)), samples };
      ctx?.progress(++done, total, `${label}: ${trait.name} judged`);
    }
    profile.traits.push({ name: trait.name, meanLastPrompt, scores });
  }
  return profile;
}

/** Mean over prompts of the last token's residual at every row, [rows·d]; left-padded batches. */
async function meanLastTokenResiduals(model: LoadedModel, prompts: number[][], batchSize: number, ctx?: RunContext): Promise<Float64Array> {
  const rows = model.session.rows;
  const d = model.checkpoint.spec.hiddenSize;
  const sum = new Float64Array(rows * d);
  for (let start = 0; start < prompts.length; start += batchSize) {
    await ctx?.checkpoint();
    const batch = prompts.slice(start, start + batchSize);
    const { tokens, valid, length: S } = leftPadded(batch);
    const out = await model.session.forward({
      tokens,
      valid,
      captureRows: Array.from({ length: rows }, (_, r) => r),
      logits: 'none',
    });
    for (let r = 0; r < rows; r++) {
      const h = out.hidden.get(r)!;
      for (let b = 0; b < batch.length; b++) {
        const base = (b * S + S - 1) * d;
        for (let i = 0; i < d; i++) sum[r * d + i] += h[base + i];
      }
    }
  }
  for (let i = 0; i < sum.length; i++) sum[i] /= prompts.length;
  return sum;
}

export interface TraitShift {
  trait: string;
  layer: number;
  /** (tuned − base) · v̂ at the vector's layer. */
  shift: number;
  /** Typical |shift| along a random direction at that layer: RMS over norm-matched random directions. */
  randomShift: number;
  /** shift at every row 0…L (v̂ of that row), and the random control's RMS there. */
  perLayer: number[];
  perLayerRandom: number[];
  /** |tuned − base| at the layer, for scale. */
  activationChange: number;
  base?: { trait: number; coherence: number };
  tuned?: { trait: number; coherence: number };
}

/** Random directions in the control: enough that their RMS is stable to a few percent. */
const RANDOM_DIRECTIONS = 32;

export function compareProfiles(base: ModelProfile, tuned: ModelProfile, traits: ShiftTrait[]): TraitShift[] {
  if (base.rows !== tuned.rows || base.d !== tuned.d) {
    throw new Error(`the two models differ in shape (${base.model}: ${base.rows - 1} layers × ${base.d}; ${tuned.model}: ${tuned.rows - 1} layers × ${tuned.d}): a fine-tune keeps its base's shape`);
  }
  const { rows, d } = base;
  return traits.map(({ vector, trait }) => {
    const b = base.traits.find((x) => x.name === trait.name);
    const t = tuned.traits.find((x) => x.name === trait.name);
    if (!b || !t) throw new Error(`no profile for trait ${trait.name}`);
    const delta = new Float64Array(rows * d);
    for (let i = 0; i < delta.length; i++) delta[i] = t.meanLastPrompt[i] - b.meanLastPrompt[i];
    const full = new Float32Array(rows * d);
    for (let r = 0; r < rows; r++) full.set(vector.atRow(r), r * d);
    const randoms = Array.from({ length: RANDOM_DIRECTIONS }, (_, k) => normMatchedRandom(full, rows, d, 1000 + k));
    const perLayer: number[] = [];
    const perLayerRandom: number[] = [];
    for (let r = 0; r < rows; r++) {
      const row = delta.subarray(r * d, (r + 1) * d);
      perLayer.push(unitProjection(row, full.subarray(r * d, (r + 1) * d)));
      perLayerRandom.push(Math.sqrt(randoms.reduce((s, rand) => s + unitProjection(row, rand.subarray(r * d, (r + 1) * d)) ** 2, 0) / randoms.length));
    }
    const layerDelta = delta.subarray(vector.layer * d, (vector.layer + 1) * d);
    return {
      trait: b.name,
      layer: vector.layer,
      shift: perLayer[vector.layer],
      randomShift: perLayerRandom[vector.layer],
      perLayer,
      perLayerRandom,
      activationChange: Math.sqrt(layerDelta.reduce((s, x) => s + x * x, 0)),
      base: b.scores && { trait: b.scores.trait, coherence: b.scores.coherence },
      tuned: t.scores && { trait: t.scores.trait, coherence: t.scores.coherence },
    };
  });
}

/** x · v̂ (0 for a zero direction, which has no projection). */
function unitProjection(x: ArrayLike<number>, v: ArrayLike<number>): number {
  let dot = 0;
  let norm = 0;
  for (let i = 0; i < x.length; i++) {
    dot += x[i] * v[i];
    norm += v[i] * v[i];
  }
  return norm === 0 ? 0 : dot / Math.sqrt(norm);
}

export interface ShiftRequest {
  basePath: string;
  /** The fine-tune: a full checkpoint folder, or a LoRA adapter folder merged onto the base. */
  tuned: { modelPath: string } | { adapterPath: string };
  vectorPaths: string[];
  /** Read this row instead of each vector's recommended layer. */
  layer?: number;
  /** Folders searched for `<trait>.json` before the built-in library (the base model's traits/ is added). */
  traitFolders?: string[];
  profile?: Omit<ProfileOptions, 'judges'>;
}

export interface ShiftReport {
  base: string;
  tuned: string;
  questions: number;
  traits: TraitShift[];
  /** Why scores are missing, when no judge was available. */
  judgeNote?: string;
}

export interface ShiftDependencies {
  /** Loads one side (the caller decides caching); it is released before the other side loads. */
  load(side: { modelPath: string; adapterPath?: string }): Promise<LoadedModel>;
  release(model: LoadedModel): Promise<void>;
  /** The judge for a trait's scores, or a reason there is none. */
  judgeFor(trait: TraitDefinition): Judge | { unavailable: string };
}

export async function measureFinetuningShift(request: ShiftRequest, deps: ShiftDependencies, ctx?: RunContext): Promise<ShiftReport> {
  const tunedSide = 'modelPath' in request.tuned ? { modelPath: request.tuned.modelPath } : { modelPath: request.basePath, adapterPath: request.tuned.adapterPath };
  const tunedLabel = 'modelPath' in request.tuned ? request.tuned.modelPath : `${request.basePath} + ${request.tuned.adapterPath}`;
  const folders = [...(request.traitFolders ?? []), path.join(request.basePath, 'traits')];

  const base = await deps.load({ modelPath: request.basePath });
  let traits: ShiftTrait[];
  let baseProfile: ModelProfile;
  const judges = new Map<string, Judge>();
  let judgeNote: string | undefined;
  try {
    const { numLayers, hiddenSize } = base.checkpoint.spec;
    traits = request.vectorPaths.map((file) => {
      const vector = loadTraitVector(file, numLayers + 1, hiddenSize, request.layer);
      const trait = findTrait(vector.name, folders);
      if (!trait) throw new Error(`${file}: no trait definition named "${vector.name}" in ${folders.join(', ')} or the built-in library; its evaluation questions are the prompts. Put ${vector.name}.json in .persona/traits.`);
      return { vector, trait };
    });
    for (const { trait } of traits) {
      const judge = deps.judgeFor(trait);
      if ('unavailable' in judge) judgeNote = judge.unavailable;
      else judges.set(trait.name, judge);
    }
    baseProfile = await modelProfile(base, request.basePath, traits, { ...request.profile, judges }, ctx);
  } finally {
    await deps.release(base);
  }
  const tuned = await deps.load(tunedSide);
  let tunedProfile: ModelProfile;
  try {
    const [b, t] = [baseProfile, tuned.checkpoint.spec];
    if (t.numLayers + 1 !== b.rows || t.hiddenSize !== b.d) {
      throw new Error(`${tunedLabel} has ${t.numLayers} layers × ${t.hiddenSize} but the base ${request.basePath} has ${b.rows - 1} × ${b.d}: a fine-tune keeps its base's shape; is this the right base?`);
    }
    tunedProfile = await modelProfile(tuned, tunedLabel, traits, { ...request.profile, judges }, ctx);
  } finally {
    await deps.release(tuned);
  }
  const questions = Math.min(...traits.map((t) => Math.min(t.trait.evaluationQuestions.length, request.profile?.questions ?? Infinity)));
  return { base: request.basePath, tuned: tunedLabel, questions, traits: compareProfiles(baseProfile, tunedProfile, traits), judgeNote };
}
