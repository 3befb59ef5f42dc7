import type { ExtractionResult } from './extract';
import type { SteeringEvaluation, SteeringValidation } from './layerSearch';

function describeEvaluation(e: SteeringEvaluation | undefined): string {
  if (!e || e.temperature <= 0) return 'greedy, one answer per question';
  return `${e.samplesPerQuestion} answer(s) per question at temperature ${e.temperature}`;
}

/** The layer search as text (CLI): every (row, α) with its control and suppression, then the recommendation. */
export function formatLayerSearch(result: Pick<ExtractionResult, 'sweep' | 'sweepBaseline' | 'recommended' | 'validation'>): string[] {
  if (!result.sweep.length) return ['no layer search was run: no layer recommended'];
  const f = (x: number | undefined) => (x === undefined ? '    –' : x.toFixed(1).padStart(5));
  const lines = ['layer search on the evaluation questions (random = a norm-matched random direction, the control; eliciting = the trait\'s own system prompts):'];
  if (result.sweepBaseline) lines.push(`  unsteered: neutral ${f(result.sweepBaseline.baseline.trait)}, eliciting ${f(result.sweepBaseline.elicited.trait)}`);
  lines.push('  row      α   +α trait  coherence   random   −α eliciting  coherence   |αv|/|h|');
  for (const c of result.sweep)
    lines.push(`  ${String(c.row).padStart(3)}  ${String(c.coefficient).padStart(5)}     ${f(c.meanTrait)}      ${f(c.meanCoherence)}    ${f(c.control)}          ${f(c.suppressed?.trait)}      ${f(c.suppressed?.coherence)}      ${c.relativeStrength?.toFixed(2) ?? '–'}`);
  const r = result.recommended;
  lines.push(
    r
      ? `recommended: layer ${r.layer}, α = ${r.coefficient} (+α trait ${r.meanTrait.toFixed(1)}, coherence ${r.meanCoherence.toFixed(1)}; −α under eliciting prompts ${f(r.suppressedTrait).trim()}${r.specific === false ? '; NOT specific: the random direction moved the score by ≥ 10 at every coherent cell' : ''})`
      : 'no cell stayed coherent in both directions: no layer recommended',
  );
  return lines;
}

/** The validation as text (CLI): dose–response beside its random control, then suppression. */
export function formatValidation(v: SteeringValidation | undefined): string[] {
  if (!v) return [];
  const f = (x: number) => x.toFixed(1).padStart(5);
  return [
    `validation at layer ${v.layer}, α = ${v.coefficient} (no system prompt, ${describeEvaluation(v.evaluation)}; random = a norm-matched random direction):`,
    '      α   trait  coherence   random trait',
    ...v.doseResponse.map((p) => `  ${String(p.coefficient).padStart(5)}   ${f(p.trait)}      ${f(p.coherence)}          ${f(p.randomTrait)}`),
    `  dose–response ${v.monotone ? 'is' : 'is NOT'} monotone`,
    `suppression under ${v.suppression.prompts} eliciting prompt(s): ${f(v.suppression.baselineTrait)} → ${f(v.suppression.trait)} at −α (coherence ${v.suppression.coherence.toFixed(1)})`,
  ];
}
