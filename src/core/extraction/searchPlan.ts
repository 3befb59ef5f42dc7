/**
 * How much generation a layer search costs, planned before it runs. Pure: the CLI prints the plan, the bench
 * compares it with the exhaustive search, `--budget-tokens` caps it.
 *
 * Why successive halving: the exhaustive search steers every (row, α) with the full evaluation — for a 28-layer
 * model 84 cells × 4 batches × 60 answers × 128 tokens ≈ 2.6 M generated tokens, a hundred times the rollouts. Most
 * of those cells are obviously poor after a handful of answers. So the budgeted search (1) steers only the rows the
 * extraction already found most separating (effect size of positive vs negative projections, measured for free),
 * (2) measures every (row, α) of those with few answers, and (3) keeps the best half each round, with more answers,
 * until the finalists get the full evaluation. The final round's cells alone decide the recommendation.
 */
import { formatDuration } from '../cancellation';

export type SearchStrategy = 'budgeted' | 'exhaustive';

export interface SearchPlanRequest {
  strategy: SearchStrategy;
  /** Rows that may be steered (1 … L). */
  rows: number;
  coefficients: number;
  /** Evaluation questions the search may use. */
  questions: number;
  /** Answers per question in the final round (the full evaluation). */
  samplesPerQuestion: number;
  maxTokens: number;
  /** System prompts under which −α is measured (one generation batch each per cell). */
  elicitingPrompts: number;
  /** Rows the budgeted search steers (default: `defaultCandidateRows`). */
  candidateRows?: number;
  /** Upper bound on the plan's generated tokens: fewer candidate rows until it fits, else an error. */
  budgetTokens?: number;
}

export interface SearchRound {
  /** (row, α) cells measured in this round (at most: cells that lose coherence are not carried on). */
  cells: number;
  questions: number;
  samplesPerQuestion: number;
  /** Generated tokens this round may cost: its cells and its own unsteered baselines. */
  tokens: number;
}

export interface SearchPlan {
  strategy: SearchStrategy;
  /** How many rows are steered (the best by effect size, for the budgeted search). */
  candidateRows: number;
  coefficients: number;
  rounds: SearchRound[];
  /** Sum over rounds: an upper bound, as answers may end before `maxTokens`. */
  plannedTokens: number;
  maxTokens: number;
}

export class SearchBudgetError extends Error {}

/** Cells kept for the final, full evaluation. */
export const FINALISTS = 3;
/**
 * Each elimination round keeps this fraction (rounded up) of its cells. A third was too few on the organism: with 10
 * answers a cell's score is ±12 points, and the exhaustive search's best cell was dropped in the second round.
 */
const KEEP = 1 / 2;
/** Answers of the first round: enough to tell a cell that steers from one that does not. */
const FIRST_ROUND_QUESTIONS = 5;

/** A quarter of the rows, at least 5 (all of a small model's rows). */
export function defaultCandidateRows(rows: number): number {
  return Math.min(rows, Math.max(5, Math.ceil(rows / 4)));
}

/** Generation batches one cell needs: +α, the random control, and −α under each eliciting prompt. */
function batchesPerCell(elicitingPrompts: number): number {
  return 2 + elicitingPrompts;
}

function round(cells: number, questions: number, samplesPerQuestion: number, r: Pick<SearchPlanRequest, 'maxTokens' | 'elicitingPrompts'>): SearchRound {
  // Each round measures its own unsteered baselines (neutral, and each eliciting prompt) on the same answers.
  const batches = cells * batchesPerCell(r.elicitingPrompts) + 1 + r.elicitingPrompts;
  return { cells, questions, samplesPerQuestion, tokens: batches * questions * samplesPerQuestion * r.maxTokens };
}

function planWith(request: SearchPlanRequest, candidateRows: number): SearchPlan {
  const { questions: Q, samplesPerQuestion: S } = request;
  const rounds: SearchRound[] = [];
  let cells = candidateRows * request.coefficients;
  if (request.strategy === 'budgeted') {
    // Earlier rounds use fewer answers than the final one; a level that is not smaller than the next is skipped.
    const levels: [number, number][] = [
      [Math.min(FIRST_ROUND_QUESTIONS, Q), 1],
      [Q, 1],
    ];
    for (const [q, s] of levels) {
      if (cells <= FINALISTS || q * s >= Q * S || (rounds.length && q * s <= rounds.at(-1)!.questions * rounds.at(-1)!.samplesPerQuestion)) continue;
      rounds.push(round(cells, q, s, request));
      cells = Math.max(Math.min(FINALISTS, cells), Math.ceil(cells * KEEP));
    }
  }
  rounds.push(round(cells, Q, S, request));
  return {
    strategy: request.strategy,
    candidateRows,
    coefficients: request.coefficients,
    rounds,
    plannedTokens: rounds.reduce((a, r) => a + r.tokens, 0),
    maxTokens: request.maxTokens,
  };
}

/** The plan for a search; throws SearchBudgetError, saying what would fit, when no plan fits `budgetTokens`. */
export function planSearch(request: SearchPlanRequest): SearchPlan {
  for (const [what, x] of [['rows', request.rows], ['coefficients', request.coefficients], ['questions', request.questions], ['answers per question', request.samplesPerQuestion], ['tokens per answer', request.maxTokens]] as const)
    if (!(Number.isInteger(x) && x >= 1)) throw new RangeError(`the layer search needs at least one of its ${what} (got ${x})`);
  const exhaustive = request.strategy === 'exhaustive';
  const wanted = exhaustive ? request.rows : Math.min(request.rows, request.candidateRows ?? defaultCandidateRows(request.rows));
  const plan = planWith(request, wanted);
  const budget = request.budgetTokens;
  if (budget === undefined || plan.plannedTokens <= budget) return plan;
  if (!exhaustive)
    for (let k = wanted - 1; k >= 1; k--) {
      const smaller = planWith(request, k);
      if (smaller.plannedTokens <= budget) return smaller;
    }
  const smallest = exhaustive ? plan : planWith(request, 1);
  throw new SearchBudgetError(
    `the ${request.strategy} layer search needs up to ${formatTokens(smallest.plannedTokens)} generated tokens${exhaustive ? '' : ' even with one candidate row'}, over the budget of ${formatTokens(budget)}: raise --budget-tokens, ${exhaustive ? 'use the budgeted search, ' : ''}use fewer answers (--sweep-samples, --sweep-questions, --sweep-max-tokens) or fewer coefficients, or skip the search (--no-sweep)`,
  );
}

/** 76 k, 2.6 M. */
export function formatTokens(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} M`;
  if (n >= 1e4) return `${Math.round(n / 1e3)} k`;
  return String(n);
}

/**
 * "budgeted layer search: 5 rows × 4 α, 3 rounds (20 → 10 → 5 cells, 5 → 10 → 30 answers each), up to 74 k generated
 * tokens of 48 per answer (about 17s at the 4283 tokens/s the rollouts ran at)".
 */
export function describeSearchPlan(plan: SearchPlan, tokensPerSecond?: number): string {
  const shape = plan.rounds.length > 1 ? `${plan.rounds.length} rounds (${plan.rounds.map((r) => r.cells).join(' → ')} cells, ${plan.rounds.map((r) => r.questions * r.samplesPerQuestion).join(' → ')} answers each)` : `${plan.rounds[0].cells} cells × ${plan.rounds[0].questions * plan.rounds[0].samplesPerQuestion} answers`;
  const time = tokensPerSecond && tokensPerSecond > 0 ? ` (about ${formatDuration(Math.max(1, plan.plannedTokens / tokensPerSecond))} at the ${tokensPerSecond.toFixed(0)} tokens/s the rollouts ran at)` : '';
  return `${plan.strategy} layer search: ${plan.candidateRows} row${plan.candidateRows === 1 ? '' : 's'} × ${plan.coefficients} α, ${shape}, up to ${formatTokens(plan.plannedTokens)} generated tokens of ${plan.maxTokens} per answer${time}`;
}
