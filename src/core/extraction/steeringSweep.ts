/**
 * Steering sweep: generate answers to evaluation questions with α·v added at a residual row, judge them, and
 * average. Used to recommend a layer and coefficient, for dose–response curves, and by the panel's steering lab.
 * Each (row, α) cell runs all questions as one batch; a norm-matched random direction is the control.
 */
import { cancelOnly, type RunContext } from '../cancellation';
import type { Judge } from '../judges/judge';
import type { LoadedModel } from '../model/loadedModel';
import type { TraitDefinition } from '../traits/trait';
import { generate } from '../model/generate';
import { buildRowIntervention, type SteerPositions } from '../model/steering';
import { seededRandom, type SamplingOptions } from '../model/sampling';
import { mean } from '../stats';

export interface SweepRequest {
  trait: TraitDefinition;
  /** [rows·d] vector; row r is used when steering row r. */
  vector: Float32Array;
  rows: number[];
  coefficients: number[];
  questions: string[];
  system?: string;
  maxTokens: number;
  positions?: SteerPositions;
  /** Greedy when absent; seeded sampling gives several distinct samples of one question (the steering lab). */
  sampling?: SamplingOptions;
}

export interface SweepSample {
  question: string;
  text: string;
  trait: number | null;
  coherence: number | null;
}

export interface SweepCell {
  row: number;
  coefficient: number;
  meanTrait: number;
  meanCoherence: number;
  /** |α·v_row| / mean |h_row|, when residual norms are known. */
  relativeStrength?: number;
  samples: SweepSample[];
}

/** Mean of the scores the judge gave (declined scores are left out). */
export function meanScore(xs: (number | null)[]): number {
  return mean(xs.filter((x): x is number => x !== null));
}

export async function steeringSweep(model: LoadedModel, judge: Judge, request: SweepRequest, ctx?: RunContext, onCell?: (cell: SweepCell) => void): Promise<SweepCell[]> {
  const { tokenizer, session } = model;
  const rowsTotal = session.rows;
  const d = model.checkpoint.spec.hiddenSize;
  const prompts = request.questions.map((q) =>
    tokenizer.chat([...(request.system ? [{ role: 'system' as const, content: request.system }] : []), { role: 'user', content: q }], true),
  );
  const cells: SweepCell[] = [];
  const total = request.rows.length * request.coefficients.length;
  for (const row of request.rows) {
    const v = request.vector.subarray(row * d, (row + 1) * d);
    for (const coefficient of request.coefficients) {
      await ctx?.checkpoint();
      const iv = coefficient === 0 ? {} : buildRowIntervention([{ vector: v, rows: [row], coefficient }], rowsTotal, d);
      const result = await generate(session, tokenizer, {
        prompts,
        maxTokens: request.maxTokens,
        eosTokenIds: model.eosTokenIds,
        interventions: prompts.map(() => iv),
        positions: request.positions ?? 'all',
        sampling: request.sampling,
      }, cancelOnly(ctx));
      const samples: SweepSample[] = [];
      for (let i = 0; i < prompts.length; i++) {
        const score = await judge.score({ trait: request.trait, question: request.questions[i], answer: result.texts[i] }, ctx?.signal);
        samples.push({ question: request.questions[i], text: result.texts[i], trait: score.trait, coherence: score.coherence });
      }
      const cell: SweepCell = { row, coefficient, meanTrait: meanScore(samples.map((s) => s.trait)), meanCoherence: meanScore(samples.map((s) => s.coherence)), samples };
      cells.push(cell);
      onCell?.(cell);
      ctx?.progress(cells.length, total, `steering layer ${row}, α=${coefficient}`);
    }
  }
  return cells;
}

/** A random direction with the same norm as v at every row (the control for every steering result). */
export function normMatchedRandom(vector: Float32Array, rows: number, d: number, seed: number): Float32Array {
  const random = seededRandom(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(random() + 1e-12)) * Math.cos(2 * Math.PI * random());
  const out = new Float32Array(rows * d);
  for (let r = 0; r < rows; r++) {
    let target = 0;
    let norm = 0;
    for (let i = 0; i < d; i++) {
      target += vector[r * d + i] ** 2;
      out[r * d + i] = gauss();
      norm += out[r * d + i] ** 2;
    }
    const scale = Math.sqrt(target / norm);
    for (let i = 0; i < d; i++) out[r * d + i] *= scale;
  }
  return out;
}

export interface Recommendation {
  layer: number;
  coefficient: number;
  meanTrait: number;
  meanCoherence: number;
}

/** The cell with the highest trait score among those that stay coherent. */
export function recommend(cells: SweepCell[], coherenceThreshold: number): Recommendation | undefined {
  const ok = cells.filter((c) => c.coefficient > 0 && c.meanCoherence >= coherenceThreshold && Number.isFinite(c.meanTrait));
  if (!ok.length) return undefined;
  // Highest score; ties go to the smaller coefficient (less side effect), then the earlier layer.
  ok.sort((a, b) => b.meanTrait - a.meanTrait || a.coefficient - b.coefficient || a.row - b.row);
  const best = ok[0];
  return { layer: best.row, coefficient: best.coefficient, meanTrait: best.meanTrait, meanCoherence: best.meanCoherence };
}

/** The checks of a recommended (layer, α), computed by the product and reported beside the vector. */
export interface SteeringValidation {
  layer: number;
  coefficient: number;
  /** No system prompt: the trait score at k·α for k = −2 … 2, and a norm-matched random direction's beside it. */
  doseResponse: { coefficient: number; trait: number; coherence: number; randomTrait: number; randomCoherence: number }[];
  /** Under the trait's eliciting system prompts: without steering and with −α. */
  suppression: { prompts: number; baselineTrait: number; trait: number; coherence: number };
  /** True when the trait score never falls as α rises (within `tolerance` points). */
  monotone: boolean;
}

/**
 * Validates a recommendation the way the paper evaluates steering: dose–response with its random control on
 * the evaluation questions, and suppression (−α) under the trait's own eliciting prompts.
 */
export async function validateSteering(model: LoadedModel, judge: Judge, request: Omit<SweepRequest, 'rows' | 'coefficients' | 'system'> & { layer: number; coefficient: number; elicitingPrompts: string[]; tolerance?: number }, ctx?: RunContext): Promise<SteeringValidation> {
  const { layer, coefficient } = request;
  const d = model.checkpoint.spec.hiddenSize;
  const ks = [-2, -1, 0, 1, 2];
  const base = { ...request, rows: [layer] };
  const steered = await steeringSweep(model, judge, { ...base, coefficients: ks.map((k) => k * coefficient) }, ctx);
  const random = normMatchedRandom(request.vector, model.session.rows, d, 7);
  const control = await steeringSweep(model, judge, { ...base, vector: random, coefficients: ks.map((k) => k * coefficient) }, ctx);
  const doseResponse = steered.map((c, i) => ({ coefficient: c.coefficient, trait: c.meanTrait, coherence: c.meanCoherence, randomTrait: control[i].meanTrait, randomCoherence: control[i].meanCoherence }));
  let baselineTrait = 0;
  let trait = 0;
  let coherence = 0;
  for (const system of request.elicitingPrompts) {
    const [zero, minus] = await steeringSweep(model, judge, { ...base, system, coefficients: [0, -coefficient] }, ctx);
    baselineTrait += zero.meanTrait / request.elicitingPrompts.length;
    trait += minus.meanTrait / request.elicitingPrompts.length;
    coherence += minus.meanCoherence / request.elicitingPrompts.length;
  }
  const tolerance = request.tolerance ?? 0;
  const monotone = doseResponse.every((p, i) => i === 0 || p.trait >= doseResponse[i - 1].trait - tolerance);
  return { layer, coefficient, doseResponse, suppression: { prompts: request.elicitingPrompts.length, baselineTrait, trait, coherence }, monotone };
}
