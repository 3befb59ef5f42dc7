/**
 * Layer and coefficient search after extraction. Every (layer, α) cell is measured three ways, all with the same
 * sampling protocol as the paper's steering evaluation (temperature 1, several answers per question):
 *   +α on neutral prompts (does it induce the trait?), the same with a norm-matched random direction (the control:
 *   is the effect specific to v?), and −α under the trait's eliciting prompts (does it suppress the trait?).
 * The recommendation is the cell that controls the trait best in both directions, among the final round's cells
 * (searchPlan.ts: the budgeted search eliminates cells over rounds of growing size; the exhaustive one has one).
 * The validation then measures the recommendation afresh: on evaluation questions the search did not use, with
 * other sampling seeds and several other random directions.
 */
import { progressReporter, type RunContext } from '../cancellation';
import type { Judge } from '../judges/judge';
import type { LoadedModel } from '../model/loadedModel';
import type { TraitDefinition } from '../traits/trait';
import { mean } from '../stats';
import { normMatchedRandom, type SweepCell } from './steeringSweep';
import type { SteeringEvaluation } from './steeringEvaluation';
import { SteeringCells, type CellAnswers, type CellScore, type CellSpec } from './steeringCells';
import type { SearchPlan } from './searchPlan';
import type { ExtractionStore } from './store';

/** Suppression is measured under the first two pairs' positive prompts: every one elicits the trait; two bound the cost. */
export function elicitingPrompts(trait: TraitDefinition): string[] {
  return trait.instructions.slice(0, 2).map((p) => p.pos);
}

/** The search's random control (one direction; the validation uses others). */
const SEARCH_RANDOM_SEED = 7;
/** The validation's random directions: several, none of them the search's, so their spread is visible. */
export const VALIDATION_RANDOM_SEEDS = [101, 102, 103];
/**
 * Points a dose–response may dip and still count as monotone: sampling noise, not a reversal. On held-out questions
 * the organism's evil went 0.8 → 0.0 from −2α to −α — one answer of 30 scored 25 — which a strict check called
 * non-monotone.
 */
export const MONOTONE_TOLERANCE = 5;
/** The validation samples with seeds the search never used. */
const VALIDATION_SEED_OFFSET = 1000;

export interface LayerSearchRequest {
  trait: TraitDefinition;
  /** [rows·d]; row r is used when steering row r. */
  vector: Float32Array;
  /** Rows to steer, best first: the budgeted plan steers the first `plan.candidateRows`. */
  rows: number[];
  /** Positive coefficients; −α is measured under the eliciting prompts. */
  coefficients: number[];
  plan: SearchPlan;
  /** The search's evaluation questions; each round uses a prefix. */
  questions: string[];
  maxTokens: number;
  /** The final round's sampling (earlier rounds use fewer answers per question, as the plan says). */
  evaluation: SteeringEvaluation;
  /** Cells below it in either direction are not carried to the next round (and cannot be recommended). */
  coherenceThreshold: number;
  /** Where measured cells are kept, so a re-run re-uses them. */
  cache?: ExtractionStore;
  maxBatch?: number;
}

export interface LayerSearch {
  /** Neutral prompts, no steering (the final round's answers). */
  baseline: { trait: number; coherence: number };
  /** Eliciting prompts, no steering (the final round's answers). */
  elicited: { trait: number; coherence: number };
  /** One per (row, α) measured, at its last round, with `control` and `suppressed` filled in. */
  cells: SweepCell[];
  /** The plan that ran; absent in older results (one exhaustive round). */
  plan?: SearchPlan;
}

/** One round's cells for (row, α) pairs: +α, the random control, −α under every eliciting prompt; and the baselines. */
function roundCells(vector: Float32Array, random: Float32Array, prompts: string[], pairs: { row: number; coefficient: number }[]): CellSpec[] {
  const row0 = pairs[0]?.row ?? 1;
  return [
    { vector, row: row0, coefficient: 0 },
    ...prompts.map((system) => ({ vector, row: row0, coefficient: 0, system })),
    ...pairs.flatMap(({ row, coefficient }) => [
      { vector, row, coefficient },
      { vector: random, row, coefficient },
      ...prompts.map((system) => ({ vector, row, coefficient: -coefficient, system })),
    ]),
  ];
}

/** Mean over cells, leaving out cells the judge gave no score (NaN); NaN when none has one. */
function meansOf(cells: CellScore[]): { trait: number; coherence: number } {
  const of = (k: keyof CellScore) => mean(cells.map((c) => c[k]).filter(Number.isFinite));
  return { trait: of('meanTrait'), coherence: of('meanCoherence') };
}

export async function searchLayers(model: LoadedModel, judge: Judge, request: LayerSearchRequest, ctx?: RunContext): Promise<LayerSearch> {
  const { plan } = request;
  const prompts = elicitingPrompts(request.trait);
  const random = normMatchedRandom(request.vector, model.session.rows, model.checkpoint.spec.hiddenSize, SEARCH_RANDOM_SEED);
  const measurer = new SteeringCells(model, judge, request.trait, { cache: request.cache, maxBatch: request.maxBatch });
  const progress = progressReporter(ctx, plan.plannedTokens);
  let generated = 0;
  const rows = plan.strategy === 'exhaustive' ? request.rows : request.rows.slice(0, plan.candidateRows);
  let alive = rows.flatMap((row) => request.coefficients.map((coefficient) => ({ row, coefficient })));
  const latest = new Map<string, SweepCell>();
  let baseline = { trait: Number.NaN, coherence: Number.NaN };
  let elicited = baseline;
  for (let r = 0; r < plan.rounds.length && alive.length; r++) {
    const round = plan.rounds[r];
    alive = alive.slice(0, round.cells);
    const answers: CellAnswers = {
      questions: request.questions.slice(0, round.questions),
      evaluation: { ...request.evaluation, samplesPerQuestion: round.samplesPerQuestion },
      maxTokens: request.maxTokens,
    };
    const label = `layer search round ${r + 1}/${plan.rounds.length} (${alive.length} cells × ${round.questions * round.samplesPerQuestion} answers), generated tokens`;
    const scores = await measurer.measure(roundCells(request.vector, random, prompts, alive), answers, ctx, (tokens) => progress((generated += tokens), label));
    baseline = { trait: scores[0].meanTrait, coherence: scores[0].meanCoherence };
    elicited = meansOf(scores.slice(1, 1 + prompts.length));
    const per = 2 + prompts.length;
    const cells = alive.map(({ row, coefficient }, i): SweepCell => {
      const [steered, control, ...suppressed] = scores.slice(1 + prompts.length + i * per, 1 + prompts.length + (i + 1) * per);
      return { row, coefficient, meanTrait: steered.meanTrait, meanCoherence: steered.meanCoherence, control: control.meanTrait, suppressed: meansOf(suppressed), samples: [], round: r, answers: round.questions * round.samplesPerQuestion };
    });
    for (const c of cells) latest.set(`${c.row}:${c.coefficient}`, c);
    if (r + 1 < plan.rounds.length) alive = carriedOn({ baseline, elicited, cells }, request.coherenceThreshold, round.questions * round.samplesPerQuestion).map((cell) => ({ row: cell.row, coefficient: cell.coefficient }));
    if (r + 1 < plan.rounds.length && alive.length) ctx?.log?.(`layer search round ${r + 1}: carrying ${Math.min(alive.length, plan.rounds[r + 1].cells)} of ${cells.length} cells on (best: layer ${alive[0].row}, α ${alive[0].coefficient})`);
  }
  const cells = [...latest.values()].sort((a, b) => a.row - b.row || a.coefficient - b.coefficient);
  return { baseline, elicited, cells, plan };
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

export interface RankedCell {
  cell: SweepCell;
  /** min(rise on neutral prompts beyond the control, drop under eliciting prompts). */
  score: number;
  /** Its random direction moved the neutral score by less than the control tolerance. */
  specific: boolean;
  /** Specific and a real effect (score ≥ the control tolerance). */
  preferred: boolean;
}

/**
 * Cells that stayed coherent both ways, best first. Score = min(trait(+α) − control(+α), elicited − trait(−α under
 * eliciting prompts)). A cell is preferred when its effect is real (score ≥ `controlTolerance`) and specific (its
 * random direction moves the score by < `controlTolerance`); other cells follow. Ties go to the smaller α (less side
 * effect), then the earlier layer. Cells the judge gave no score (NaN) are left out.
 */
export function rankCells(search: Pick<LayerSearch, 'baseline' | 'elicited' | 'cells'>, coherenceThreshold: number, controlTolerance = 10): RankedCell[] {
  const finite = (...xs: (number | undefined)[]) => xs.every((x) => x !== undefined && Number.isFinite(x));
  return search.cells
    .filter((c) => c.coefficient > 0 && finite(c.meanTrait, c.meanCoherence, c.control, c.suppressed?.trait, c.suppressed?.coherence))
    .filter((c) => c.meanCoherence >= coherenceThreshold && c.suppressed!.coherence >= coherenceThreshold)
    .map((c) => {
      const score = Math.min(c.meanTrait - c.control!, search.elicited.trait - c.suppressed!.trait);
      const specific = Math.abs(c.control! - search.baseline.trait) < controlTolerance;
      return { cell: c, score, specific, preferred: specific && score >= controlTolerance };
    })
    .filter((c) => Number.isFinite(c.score))
    .sort((a, b) => Number(b.preferred) - Number(a.preferred) || b.score - a.score || a.cell.coefficient - b.cell.coefficient || a.cell.row - b.cell.row);
}

/**
 * The order in which an elimination round carries its cells on: by score alone, dropping only cells clearly
 * incoherent. A round of few answers measures coherence and the control roughly (±15 points at 5 answers), so the
 * coherence bar is lowered by about two standard errors (a per-answer spread of 35 points) and the preference for
 * specific cells is left to the final round, which measures every finalist with the full evaluation. With the hard
 * bar, the organism's best sycophancy cell (coherence 39 on 10 answers, ≥ 50 on 30) was dropped in round 2.
 */
export function carriedOn(search: Pick<LayerSearch, 'baseline' | 'elicited' | 'cells'>, coherenceThreshold: number, answers: number): SweepCell[] {
  const bar = coherenceThreshold - 70 / Math.sqrt(Math.max(1, answers));
  const finite = (...xs: (number | undefined)[]) => xs.every((x) => x !== undefined && Number.isFinite(x));
  return search.cells
    .filter((c) => finite(c.meanTrait, c.meanCoherence, c.control, c.suppressed?.trait, c.suppressed?.coherence) && c.meanCoherence >= bar && c.suppressed!.coherence >= bar)
    .map((cell) => ({ cell, score: Math.min(cell.meanTrait - cell.control!, search.elicited.trait - cell.suppressed!.trait) }))
    .filter((c) => Number.isFinite(c.score))
    .sort((a, b) => b.score - a.score || a.cell.coefficient - b.cell.coefficient || a.cell.row - b.cell.row)
    .map(({ cell }) => cell);
}

/**
 * The cell that controls the trait best in both directions (rankCells' first), among the final round's cells: the
 * ones measured with the full evaluation, against that round's own baselines.
 */
export function recommend(search: LayerSearch, coherenceThreshold: number, controlTolerance = 10): Recommendation | undefined {
  const last = Math.max(0, ...search.cells.map((c) => c.round ?? 0));
  const [best] = rankCells({ ...search, cells: search.cells.filter((c) => (c.round ?? 0) === last) }, coherenceThreshold, controlTolerance);
  if (!best) return undefined;
  const { cell, score, specific } = best;
  return { layer: cell.row, coefficient: cell.coefficient, meanTrait: cell.meanTrait, meanCoherence: cell.meanCoherence, controlTrait: cell.control, suppressedTrait: cell.suppressed!.trait, score, specific };
}

/** The checks of a recommended (layer, α), computed by the product and reported beside the vector. */
export interface SteeringValidation {
  layer: number;
  coefficient: number;
  /** How the answers were produced (absent in older files: greedy, one answer per question). */
  evaluation?: SteeringEvaluation;
  /** Evaluation questions answered, and whether the layer search never saw them (absent in older files: it did). */
  questions?: number;
  heldOut?: boolean;
  /**
   * No system prompt: the trait score at k·α for k = −2 … 2, and beside it norm-matched random directions' (their
   * mean; `randomTraits` per direction, absent in older files, which had one direction: the search's own).
   */
  doseResponse: { coefficient: number; trait: number; coherence: number; randomTrait: number; randomCoherence: number; randomTraits?: number[] }[];
  /** Under the trait's eliciting system prompts: without steering and with −α. */
  suppression: { prompts: number; baselineTrait: number; trait: number; coherence: number };
  /** True when the trait score never falls as α rises by more than `tolerance` points (MONOTONE_TOLERANCE). */
  monotone: boolean;
}

export interface ValidationRequest {
  trait: TraitDefinition;
  vector: Float32Array;
  layer: number;
  coefficient: number;
  /** Questions to answer: the evaluation questions the search did not use, when there are any. */
  questions: string[];
  heldOut: boolean;
  maxTokens: number;
  /** Sampling as in the search; the seed is moved so no answer repeats one the search judged. */
  evaluation: SteeringEvaluation;
  tolerance?: number;
  cache?: ExtractionStore;
  maxBatch?: number;
}

/** Cells the validation generates: 0·v, ±1·v and ±2·v, the same for each random direction, and the suppression pair. */
export function validationCells(prompts: number): number {
  return 5 + 4 * VALIDATION_RANDOM_SEEDS.length + 2 * prompts;
}

/**
 * Validates a recommendation the way the paper evaluates steering, afresh: dose–response beside several random
 * directions (none of them the search's control), and suppression (−α) under the trait's own eliciting prompts, on
 * questions the search did not use and with other sampling seeds — so it does not replay what the search selected on.
 */
export async function validateSteering(model: LoadedModel, judge: Judge, request: ValidationRequest, ctx?: RunContext): Promise<SteeringValidation> {
  const { layer, coefficient } = request;
  const evaluation: SteeringEvaluation = { ...request.evaluation, seed: (request.evaluation.seed ?? 11) + VALIDATION_SEED_OFFSET };
  const rows = model.session.rows;
  const d = model.checkpoint.spec.hiddenSize;
  const prompts = elicitingPrompts(request.trait);
  const randoms = VALIDATION_RANDOM_SEEDS.map((seed) => normMatchedRandom(request.vector, rows, d, seed));
  const ks = [-2, -1, 0, 1, 2];
  const cells: CellSpec[] = [
    ...ks.map((k) => ({ vector: request.vector, row: layer, coefficient: k * coefficient })),
    ...randoms.flatMap((vector) => ks.map((k) => ({ vector, row: layer, coefficient: k * coefficient }))),
    ...prompts.map((system) => ({ vector: request.vector, row: layer, coefficient: 0, system })),
    ...prompts.map((system) => ({ vector: request.vector, row: layer, coefficient: -coefficient, system })),
  ];
  const answers: CellAnswers = { questions: request.questions, evaluation, maxTokens: request.maxTokens };
  const measurer = new SteeringCells(model, judge, request.trait, { cache: request.cache, maxBatch: request.maxBatch });
  const total = measurer.plannedTokens(cells, answers);
  const progress = progressReporter(ctx, total);
  let generated = 0;
  const scores = await measurer.measure(cells, answers, ctx, (tokens) => progress((generated += tokens), `validating layer ${layer}, α=${coefficient} on ${request.questions.length} ${request.heldOut ? 'held-out ' : ''}questions, generated tokens`));
  const randomAt = (i: number) => randoms.map((_, j) => scores[ks.length * (1 + j) + i]);
  const doseResponse: SteeringValidation['doseResponse'] = ks.map((k, i) => {
    const random = randomAt(i);
    const randomMeans = meansOf(random);
    return { coefficient: k * coefficient, trait: scores[i].meanTrait, coherence: scores[i].meanCoherence, randomTrait: randomMeans.trait, randomCoherence: randomMeans.coherence, randomTraits: random.map((c) => c.meanTrait) };
  });
  const base = ks.length * (1 + randoms.length);
  const baseline = meansOf(scores.slice(base, base + prompts.length));
  const suppressed = meansOf(scores.slice(base + prompts.length));
  const tolerance = request.tolerance ?? MONOTONE_TOLERANCE;
  const monotone = doseResponse.every((p, i) => i === 0 || p.trait >= doseResponse[i - 1].trait - tolerance);
  return { layer, coefficient, evaluation, questions: request.questions.length, heldOut: request.heldOut, doseResponse, suppression: { prompts: prompts.length, baselineTrait: baseline.trait, trait: suppressed.trait, coherence: suppressed.coherence }, monotone };
}

/**
 * The evaluation questions split in two: the search's and the validation's (every other one, so both halves span
 * the list). With a single question there is nothing to hold out: both use it, and the validation says so.
 */
export function splitEvaluationQuestions(questions: string[]): { search: string[]; validation: string[]; heldOut: boolean } {
  if (questions.length < 2) return { search: questions, validation: questions, heldOut: false };
  return { search: questions.filter((_, i) => i % 2 === 0), validation: questions.filter((_, i) => i % 2 === 1), heldOut: true };
}
