/**
 * Layer and coefficient search after extraction. Every (layer, α) cell is measured three ways, all with the same
 * sampling protocol as the paper's steering evaluation (temperature 1, several answers per question):
 *   +α on neutral prompts (does it induce the trait?), the same with a norm-matched random direction (the control:
 *   is the effect specific to v?), and −α under the trait's eliciting prompts (does it suppress the trait?).
 * The recommendation is the cell that controls the trait best in both directions.
 */
import { createHash } from 'node:crypto';
import { cancelOnly, progressReporter, type RunContext } from '../cancellation';
import { judgeCacheId, type Judge } from '../judges/judge';
import type { LoadedModel } from '../model/loadedModel';
import type { TraitDefinition } from '../traits/trait';
import { VERSION } from '../version';
import { mean } from '../stats';
import { normMatchedRandom, steeringSweep, type SweepCell } from './steeringSweep';
import { evaluationPlan, type SteeringEvaluation } from './steeringEvaluation';
import type { ExtractionStore } from './store';


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

/** Bumped when generation, steering or judging changes what a cell would measure, so old cached cells are not used. */
const CELL_FORMAT = 1;

/** What the layer search and the validation share: one cached measurement, the random control, the eliciting prompts. */
function steeringSetup(
  model: LoadedModel,
  judge: Judge,
  request: { trait: TraitDefinition; vector: Float32Array; questions: string[]; maxTokens: number; evaluation: SteeringEvaluation; cache?: ExtractionStore },
  ctx: RunContext | undefined,
  onMeasured: () => void,
) {
  const plan = evaluationPlan(request.questions, request.evaluation);
  const random = normMatchedRandom(request.vector, model.session.rows, model.checkpoint.spec.hiddenSize, 7);
  const prompts = elicitingPrompts(request.trait);
  const quiet = cancelOnly(ctx);
  const digests = new WeakMap<Float32Array, string>();
  const digestOf = (v: Float32Array) => {
    let digest = digests.get(v);
    if (!digest) digests.set(v, (digest = createHash('sha256').update(Buffer.from(v.buffer, v.byteOffset, v.byteLength)).digest('hex')));
    return digest;
  };
  /**
   * One cell: `vector` at `row` scaled by `coefficient`, optionally under a system prompt. Its judged means are kept
   * under a digest of everything that produced them. Means the judge never gave (it declined every answer) are NaN
   * and are not kept.
   */
  const measure = async (vector: Float32Array, row: number, coefficient: number, system?: string): Promise<CellScore> => {
    const steered = coefficient !== 0; // unsteered cells depend on neither the vector nor the row
    const key = createHash('sha256')
      .update(JSON.stringify({ format: CELL_FORMAT, tool: VERSION, judge: judgeCacheId(judge), vector: steered ? digestOf(vector) : null, row: steered ? row : null, coefficient, system: system ?? null, ...plan, maxTokens: request.maxTokens }))
      .digest('hex');
    const hit = request.cache?.steeringCell(key);
    if (hit) {
      onMeasured();
      return hit;
    }
    const [cell] = await steeringSweep(model, judge, { trait: request.trait, vector, rows: [row], coefficients: [coefficient], system, maxTokens: request.maxTokens, ...plan }, quiet);
    if (Number.isFinite(cell.meanTrait) && Number.isFinite(cell.meanCoherence)) request.cache?.addSteeringCell({ key, meanTrait: cell.meanTrait, meanCoherence: cell.meanCoherence });
    onMeasured();
    return cell;
  };
  /** −α (pass the negative coefficient) under every eliciting prompt, averaged. */
  const underEliciting = async (row: number, coefficient: number): Promise<{ trait: number; coherence: number }> => {
    const cells: CellScore[] = [];
    for (const system of prompts) cells.push(await measure(request.vector, row, coefficient, system));
    return { trait: meanOf(cells, 'meanTrait'), coherence: meanOf(cells, 'meanCoherence') };
  };
  return { measure, underEliciting, random, prompts };
}

export async function searchLayers(model: LoadedModel, judge: Judge, request: LayerSearchRequest, ctx?: RunContext): Promise<LayerSearch> {
  // Progress counts generation batches: the unsteered ones, then per cell steered, control and eliciting ones.
  const perPrompt = elicitingPrompts(request.trait).length;
  const total = 1 + perPrompt + request.rows.length * request.coefficients.length * (2 + perPrompt);
  let done = 0;
  let at = 'baseline';
  const progress = progressReporter(ctx, total);
  const { measure, underEliciting, random } = steeringSetup(model, judge, request, ctx, () => progress(++done, `layer search (${at}), generation batches`));

  const neutral = await measure(request.vector, request.rows[0], 0);
  at = 'eliciting baseline';
  const elicited = await underEliciting(request.rows[0], 0);
  const cells: SweepCell[] = [];
  for (const row of request.rows) {
    for (const coefficient of request.coefficients) {
      at = `layer ${row}, α=${coefficient}`;
      const steered = await measure(request.vector, row, coefficient);
      const control = await measure(random, row, coefficient);
      const suppressed = await underEliciting(row, -coefficient);
      cells.push({ row, coefficient, meanTrait: steered.meanTrait, meanCoherence: steered.meanCoherence, control: control.meanTrait, suppressed, samples: [] });
    }
  }
  return { baseline: { trait: neutral.meanTrait, coherence: neutral.meanCoherence }, elicited, cells };
}

/** Mean over cells, leaving out cells the judge gave no score (NaN); NaN when none has one. */
function meanOf(cells: CellScore[], key: 'meanTrait' | 'meanCoherence'): number {
  return mean(cells.map((c) => c[key]).filter(Number.isFinite));
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
 * trait(−α under eliciting prompts)); cells must stay coherent both ways. A cell is preferred when its effect is
 * real (score ≥ `controlTolerance`) and specific (its random direction moves the score by < `controlTolerance`);
 * other cells are chosen only if none is. Ties go to the smaller α (less side effect), then the earlier layer.
 */
export function recommend(search: LayerSearch, coherenceThreshold: number, controlTolerance = 10): Recommendation | undefined {
  const finite = (...xs: (number | undefined)[]) => xs.every((x) => x !== undefined && Number.isFinite(x));
  const candidates = search.cells
    .filter((c) => c.coefficient > 0 && finite(c.meanTrait, c.meanCoherence, c.control, c.suppressed?.trait, c.suppressed?.coherence))
    .filter((c) => c.meanCoherence >= coherenceThreshold && c.suppressed!.coherence >= coherenceThreshold)
    .map((c) => {
      const score = Math.min(c.meanTrait - c.control!, search.elicited.trait - c.suppressed!.trait);
      const specific = Math.abs(c.control! - search.baseline.trait) < controlTolerance;
      return { cell: c, score, specific, preferred: specific && score >= controlTolerance };
    })
    .filter((c) => Number.isFinite(c.score));
  if (!candidates.length) return undefined;
  candidates.sort((a, b) => Number(b.preferred) - Number(a.preferred) || b.score - a.score || a.cell.coefficient - b.cell.coefficient || a.cell.row - b.cell.row);
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
  const ks = [-2, -1, 0, 1, 2];
  const total = ks.length * 2 + elicitingPrompts(request.trait).length * 2;
  let done = 0;
  const progress = progressReporter(ctx, total);
  const { measure, underEliciting, random, prompts } = steeringSetup(model, judge, request, ctx, () => progress(++done, `validating layer ${layer}, α=${coefficient}, generation batches`));
  const doseResponse: SteeringValidation['doseResponse'] = [];
  for (const k of ks) {
    const steered = await measure(request.vector, layer, k * coefficient);
    const control = await measure(random, layer, k * coefficient);
    doseResponse.push({ coefficient: k * coefficient, trait: steered.meanTrait, coherence: steered.meanCoherence, randomTrait: control.meanTrait, randomCoherence: control.meanCoherence });
  }
  const baseline = await underEliciting(layer, 0);
  const suppressed = await underEliciting(layer, -coefficient);
  const tolerance = request.tolerance ?? 0;
  const monotone = doseResponse.every((p, i) => i === 0 || p.trait >= doseResponse[i - 1].trait - tolerance);
  return { layer, coefficient, evaluation, doseResponse, suppression: { prompts: prompts.length, baselineTrait: baseline.trait, trait: suppressed.trait, coherence: suppressed.coherence }, monotone };
}
