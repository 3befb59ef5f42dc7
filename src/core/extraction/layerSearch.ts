/**
 * Layer and coefficient search after extraction. Every (layer, α) cell is measured three ways, all with the same
 * sampling protocol as the paper's steering evaluation (temperature 1, several answers per question):
 *   +α on neutral prompts (does it induce the trait?), the same with a norm-matched random direction (the control:
 *   is the effect specific to v?), and −α under the trait's eliciting prompts (does it suppress the trait?).
 * The recommendation is the cell that controls the trait best in both directions.
 */
import { createHash } from 'node:crypto';
import { cancelOnly, type RunContext } from '../cancellation';
import type { Judge } from '../judges/judge';
import type { LoadedModel } from '../model/loadedModel';
import type { SamplingOptions } from '../model/sampling';
import type { TraitDefinition } from '../traits/trait';
import { normMatchedRandom, steeringSweep, type SweepCell, type SweepRequest } from './steeringSweep';
import type { ExtractionStore } from './store';

/** How steering is evaluated: `samplesPerQuestion` answers per question, sampled at `temperature` (0 = greedy, one answer). */
export interface SteeringEvaluation {
  samplesPerQuestion: number;
  temperature: number;
  seed?: number;
}

/** The paper samples steered answers at temperature 1; three per question keeps the cost of a CPU sweep modest. */
export const DEFAULT_STEERING_EVALUATION: SteeringEvaluation = { samplesPerQuestion: 3, temperature: 1 };

/** The questions and sampling options that realise an evaluation protocol (each question repeated, one seed per answer). */
export function evaluationPlan(questions: string[], evaluation: SteeringEvaluation): Pick<SweepRequest, 'questions' | 'sampling'> {
  if (evaluation.temperature <= 0) return { questions };
  const n = Math.max(1, Math.floor(evaluation.samplesPerQuestion));
  const sampling: SamplingOptions = { temperature: evaluation.temperature, seed: evaluation.seed ?? 11 };
  return { questions: questions.flatMap((q) => Array<string>(n).fill(q)), sampling };
}

/** Suppression is measured under the first two pairs' positive prompts: every one elicits the trait; two bound the cost. */
export function elicitingPrompts(trait: TraitDefinition): string[] {
  return trait.instructions.slice(0, 2).map((p) => p.pos);
}

export interface LayerSearchRequest {
  trait: TraitDefinition;
  /** [rows·d]; row r is used when steering row r. */
  vector: Float32Array;
  rows: number[];
  /** Positive coefficients; −α is measured under the eliciting prompts. */
  coefficients: number[];
  questions: string[];
  maxTokens: number;
  evaluation: SteeringEvaluation;
  /** Where measured cells are kept, so a re-run (or the validation) re-uses them. */
  cache?: ExtractionStore;
}

export interface LayerSearch {
  /** Neutral prompts, no steering. */
  baseline: { trait: number; coherence: number };
  /** Eliciting prompts, no steering. */
  elicited: { trait: number; coherence: number };
  /** One per (row, α), with `control` and `suppressed` filled in. */
  cells: SweepCell[];
}

type CellScore = Pick<SweepCell, 'meanTrait' | 'meanCoherence'>;

/**
 * Measures one cell — `vector` at `row` scaled by `coefficient`, optionally under a system prompt — and keeps its
 * judged means in the cache under a digest of everything that produced them.
 */
function cellMeasurer(model: LoadedModel, judge: Judge, base: { trait: TraitDefinition; maxTokens: number } & Pick<SweepRequest, 'questions' | 'sampling'>, cache: ExtractionStore | undefined, ctx?: RunContext) {
  const digests = new WeakMap<Float32Array, string>();
  const digestOf = (v: Float32Array) => {
    let digest = digests.get(v);
    if (!digest) digests.set(v, (digest = createHash('sha256').update(Buffer.from(v.buffer, v.byteOffset, v.byteLength)).digest('hex')));
    return digest;
  };
  return async (vector: Float32Array, row: number, coefficient: number, system?: string): Promise<CellScore> => {
    // Unsteered cells depend on neither the vector nor the row.
    const steered = coefficient !== 0;
    const key = createHash('sha256')
      .update(JSON.stringify({ judge: judge.id, vector: steered ? digestOf(vector) : null, row: steered ? row : null, coefficient, system: system ?? null, questions: base.questions, sampling: base.sampling ?? null, maxTokens: base.maxTokens }))
      .digest('hex');
    const hit = cache?.steeringCell(key);
    if (hit) return hit;
    const [cell] = await steeringSweep(model, judge, { ...base, vector, rows: [row], coefficients: [coefficient], system }, ctx);
    cache?.addSteeringCell({ key, meanTrait: cell.meanTrait, meanCoherence: cell.meanCoherence });
    return cell;
  };
}

export async function searchLayers(model: LoadedModel, judge: Judge, request: LayerSearchRequest, ctx?: RunContext): Promise<LayerSearch> {
  const prompts = elicitingPrompts(request.trait);
  const random = normMatchedRandom(request.vector, model.session.rows, model.checkpoint.spec.hiddenSize, 7);
  const measure = cellMeasurer(model, judge, { trait: request.trait, maxTokens: request.maxTokens, ...evaluationPlan(request.questions, request.evaluation) }, request.cache, cancelOnly(ctx));
  const total = 1 + prompts.length + request.rows.length * request.coefficients.length;
  let done = 0;
  const step = (message: string) => ctx?.progress(++done, total, `layer search: ${message} (${done}/${total})`);

  const neutral = await measure(request.vector, request.rows[0], 0);
  step('baseline');
  const elicitedCells: CellScore[] = [];
  for (const system of prompts) {
    elicitedCells.push(await measure(request.vector, request.rows[0], 0, system));
    step('eliciting baseline');
  }

  const cells: SweepCell[] = [];
  for (const row of request.rows) {
    for (const coefficient of request.coefficients) {
      const steered = await measure(request.vector, row, coefficient);
      const control = await measure(random, row, coefficient);
      const suppressed: CellScore[] = [];
      for (const system of prompts) suppressed.push(await measure(request.vector, row, -coefficient, system));
      cells.push({ row, coefficient, meanTrait: steered.meanTrait, meanCoherence: steered.meanCoherence, control: control.meanTrait, suppressed: { trait: meanOf(suppressed, 'meanTrait'), coherence: meanOf(suppressed, 'meanCoherence') }, samples: [] });
      step(`layer ${row}, α=${coefficient}`);
    }
  }
  return {
    baseline: { trait: neutral.meanTrait, coherence: neutral.meanCoherence },
    elicited: { trait: meanOf(elicitedCells, 'meanTrait'), coherence: meanOf(elicitedCells, 'meanCoherence') },
    cells,
  };
}

function meanOf(cells: CellScore[], key: 'meanTrait' | 'meanCoherence'): number {
  return cells.reduce((s, c) => s + c[key], 0) / cells.length;
}

export interface Recommendation {
  layer: number;
  coefficient: number;
  /** +α on neutral prompts. */
  meanTrait: number;
  meanCoherence: number;
  /** The random direction's trait score at the same layer and α. */
  controlTrait?: number;
  /** Trait score under the eliciting prompts at −α. */
  suppressedTrait?: number;
  /** min(rise on neutral prompts beyond the control, drop under eliciting prompts): control in both directions. */
  score?: number;
  /** False when every coherent cell's random direction moved the score by ≥ the control tolerance. */
  specific?: boolean;
}

/**
 * The cell that controls the trait best in both directions. Score = min(trait(+α) − control(+α), elicited −
 * trait(−α under eliciting prompts)); cells must stay coherent both ways. Cells whose random direction moves the
 * score by ≥ `controlTolerance` are not specific to the vector and are chosen only if nothing else qualifies.
 * Ties go to the smaller α (less side effect), then the earlier layer.
 */
export function recommend(search: LayerSearch, coherenceThreshold: number, controlTolerance = 10): Recommendation | undefined {
  const candidates = search.cells
    .filter((c) => c.coefficient > 0 && c.control !== undefined && c.suppressed !== undefined)
    .filter((c) => c.meanCoherence >= coherenceThreshold && c.suppressed!.coherence >= coherenceThreshold && Number.isFinite(c.meanTrait))
    .map((c) => ({
      cell: c,
      score: Math.min(c.meanTrait - c.control!, search.elicited.trait - c.suppressed!.trait),
      specific: Math.abs(c.control! - search.baseline.trait) < controlTolerance,
    }));
  if (!candidates.length) return undefined;
  candidates.sort((a, b) => Number(b.specific) - Number(a.specific) || b.score - a.score || a.cell.coefficient - b.cell.coefficient || a.cell.row - b.cell.row);
  const { cell, score, specific } = candidates[0];
  return { layer: cell.row, coefficient: cell.coefficient, meanTrait: cell.meanTrait, meanCoherence: cell.meanCoherence, controlTrait: cell.control, suppressedTrait: cell.suppressed!.trait, score, specific };
}

/** The checks of a recommended (layer, α), computed by the product and reported beside the vector. */
export interface SteeringValidation {
  layer: number;
  coefficient: number;
  /** How the answers were produced (absent in older files: greedy, one answer per question). */
  evaluation?: SteeringEvaluation;
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
export async function validateSteering(
  model: LoadedModel,
  judge: Judge,
  request: { trait: TraitDefinition; vector: Float32Array; layer: number; coefficient: number; questions: string[]; maxTokens: number; evaluation: SteeringEvaluation; tolerance?: number; cache?: ExtractionStore },
  ctx?: RunContext,
): Promise<SteeringValidation> {
  const { layer, coefficient, evaluation } = request;
  const random = normMatchedRandom(request.vector, model.session.rows, model.checkpoint.spec.hiddenSize, 7);
  const measure = cellMeasurer(model, judge, { trait: request.trait, maxTokens: request.maxTokens, ...evaluationPlan(request.questions, evaluation) }, request.cache, cancelOnly(ctx));
  const prompts = elicitingPrompts(request.trait);
  const ks = [-2, -1, 0, 1, 2];
  const total = ks.length * 2 + prompts.length * 2;
  let done = 0;
  const step = () => ctx?.progress(++done, total, `validating layer ${layer}, α=${coefficient} (${done}/${total})`);
  const doseResponse: SteeringValidation['doseResponse'] = [];
  for (const k of ks) {
    const steered = await measure(request.vector, layer, k * coefficient);
    step();
    const control = await measure(random, layer, k * coefficient);
    step();
    doseResponse.push({ coefficient: k * coefficient, trait: steered.meanTrait, coherence: steered.meanCoherence, randomTrait: control.meanTrait, randomCoherence: control.meanCoherence });
  }
  let baselineTrait = 0;
  let trait = 0;
  let coherence = 0;
  for (const system of prompts) {
    const zero = await measure(request.vector, layer, 0, system);
    step();
    const minus = await measure(request.vector, layer, -coefficient, system);
    step();
    baselineTrait += zero.meanTrait / prompts.length;
    trait += minus.meanTrait / prompts.length;
    coherence += minus.meanCoherence / prompts.length;
  }
  const tolerance = request.tolerance ?? 0;
  const monotone = doseResponse.every((p, i) => i === 0 || p.trait >= doseResponse[i - 1].trait - tolerance);
  return { layer, coefficient, evaluation, doseResponse, suppression: { prompts: prompts.length, baselineTrait, trait, coherence }, monotone };
}
