/**
 * How a model's weights are stored (`--weights`, `personaLens.engine.weights`, engine params, the panel's model
 * details) and their checks. Pure, so the protocol and the panel validate with it without `quantize.ts` (Node).
 */
export type WeightPrecision = 'f32' | 'int8' | 'int4';
export type WeightPrecisionChoice = WeightPrecision | 'auto';
export const WEIGHT_PRECISIONS: readonly WeightPrecisionChoice[] = ['auto', 'f32', 'int8', 'int4'];

export function isWeightPrecisionChoice(value: unknown): value is WeightPrecisionChoice {
  return typeof value === 'string' && (WEIGHT_PRECISIONS as readonly string[]).includes(value);
}

/** A precision weights are stored at (what `auto` resolves to). */
export function isWeightPrecision(value: unknown): value is WeightPrecision {
  return value !== 'auto' && isWeightPrecisionChoice(value);
}
