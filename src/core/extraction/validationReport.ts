import type { ExtractionResult } from './extract';
import { MONOTONE_TOLERANCE, type SteeringValidation } from './layerSearch';
import { describeEvaluation } from './steeringEvaluation';
import { describeSearchPlan } from './searchPlan';

/** A score for a table; '–' where there is none (not measured, or the judge declined every answer). */
function cell(x: number | null | undefined): string {
  return typeof x === 'number' && Number.isFinite(x) ? x.toFixed(1).padStart(5) : '    –';
}

/** The layer search as text (CLI): every (row, α) with its control and suppression, then the recommendation. */
export function formatLayerSearch(result: Pick<ExtractionResult, 'sweep' | 'sweepBaseline' | 'recommended' | 'validation' | 'searchPlan'>): string[] {
  if (!result.sweep.length) return ['no layer search was run: no layer recommended'];
  const lines = ['layer search on the evaluation questions (random = a norm-matched random direction, the control; eliciting = the trait\'s own system prompts):'];
  if (result.searchPlan) lines.push(`  ${describeSearchPlan(result.searchPlan)}`);
  const rounds = result.searchPlan?.rounds.length ?? 1;
  if (result.sweepBaseline) lines.push(`  unsteered${rounds > 1 ? ' (final round)' : ''}: neutral ${cell(result.sweepBaseline.baseline.trait)}, eliciting ${cell(result.sweepBaseline.elicited.trait)}`);
  lines.push(`  row      α   +α trait  coherence   random   −α eliciting  coherence   |αv|/|h|${rounds > 1 ? '   round  answers' : ''}`);
  for (const c of result.sweep)
    lines.push(`  ${String(c.row).padStart(3)}  ${String(c.coefficient).padStart(5)}     ${cell(c.meanTrait)}      ${cell(c.meanCoherence)}    ${cell(c.control)}          ${cell(c.suppressed?.trait)}      ${cell(c.suppressed?.coherence)}      ${(c.relativeStrength?.toFixed(2) ?? '–').padStart(4)}${rounds > 1 ? `   ${String((c.round ?? 0) + 1).padStart(5)}  ${String(c.answers ?? '–').padStart(7)}` : ''}`);
  const r = result.recommended;
  lines.push(
    r
      ? `recommended: layer ${r.layer}, α = ${r.coefficient} (+α trait ${cell(r.meanTrait).trim()}, coherence ${cell(r.meanCoherence).trim()}; −α under eliciting prompts ${cell(r.suppressedTrait).trim()}${r.specific === false ? '; NOT specific: a random direction moved the score by ≥ 10 at every coherent cell' : ''}${r.score !== undefined && r.score < 10 ? '; WEAK: no cell moved the trait by ≥ 10 both ways' : ''})`
      : 'no cell stayed coherent in both directions: no layer recommended',
  );
  return lines;
}

function spread(xs: number[]): string {
  const finite = xs.filter(Number.isFinite);
  return finite.length ? `${Math.min(...finite).toFixed(0)}–${Math.max(...finite).toFixed(0)}` : '–';
}

/** The validation as text (CLI): dose–response beside its random control, then suppression. */
export function formatValidation(v: SteeringValidation | undefined): string[] {
  if (!v) return [];
  const directions = v.doseResponse[0]?.randomTraits?.length ?? 1;
  const questions = v.questions === undefined ? 'the search\'s own questions' : `${v.questions} ${v.heldOut ? 'evaluation questions the search did not use' : 'evaluation question(s), the search\'s own (too few to hold any out)'}`;
  return [
    `validation at layer ${v.layer}, α = ${v.coefficient} (no system prompt, ${questions}, ${describeEvaluation(v.evaluation)}; random = ${directions === 1 ? 'a norm-matched random direction' : `the mean of ${directions} norm-matched random directions, min–max beside it`}):`,
    `      α   trait  coherence   random trait${directions > 1 ? '   min–max' : ''}`,
    ...v.doseResponse.map((p) => `  ${String(p.coefficient).padStart(5)}   ${cell(p.trait)}      ${cell(p.coherence)}          ${cell(p.randomTrait)}${p.randomTraits && p.randomTraits.length > 1 ? `   ${spread(p.randomTraits)}` : ''}`),
    `  dose–response ${v.monotone ? 'is' : 'is NOT'} monotone${v.heldOut !== undefined ? ` (within ${MONOTONE_TOLERANCE} points of sampling noise)` : ''}`,
    `suppression under ${v.suppression.prompts} eliciting prompt(s): ${cell(v.suppression.baselineTrait)} → ${cell(v.suppression.trait)} at −α (coherence ${cell(v.suppression.coherence).trim()})`,
  ];
}
