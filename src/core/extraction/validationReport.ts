import type { SteeringValidation } from './steeringSweep';

/** The validation as text (CLI): dose–response beside its random control, then suppression. */
export function formatValidation(v: SteeringValidation | undefined): string[] {
  if (!v) return [];
  const f = (x: number) => x.toFixed(1).padStart(5);
  return [
    `validation at layer ${v.layer}, α = ${v.coefficient} (no system prompt; random = a norm-matched random direction, the control):`,
    '      α   trait  coherence   random trait',
    ...v.doseResponse.map((p) => `  ${String(p.coefficient).padStart(5)}   ${f(p.trait)}      ${f(p.coherence)}          ${f(p.randomTrait)}`),
    `  dose–response ${v.monotone ? 'is' : 'is NOT'} monotone`,
    `suppression under ${v.suppression.prompts} eliciting prompt(s): ${f(v.suppression.baselineTrait)} → ${f(v.suppression.trait)} at −α (coherence ${v.suppression.coherence.toFixed(1)})`,
  ];
}
