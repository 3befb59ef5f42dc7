/**
 * The steering lab's data: settings, the cells a run streams, the results file, and their validation.
 * No Node imports: the panel bundles this module too, so host, engine and webview validate with the same code.
 */
import { isFiniteNumber, isIntIn, isObject, isScore } from '../validate';

/** What the user sets in the lab (also saved in results files and the panel's state). */
export interface SteeringLabSettings {
  prompt: string;
  system?: string;
  /** Vector files to steer with, one series each. */
  vectorPaths: string[];
  /** Residual row the vectors are added to (0 = embeddings). */
  layer: number;
  coefficientMin: number;
  coefficientMax: number;
  /** Coefficients between min and max (inclusive); the baseline α = 0 is always run too. */
  steps: number;
  samplesPerPoint: number;
  /** 0 = greedy (then several samples per point are identical); above 0, seeded sampling. */
  temperature: number;
  seed: number;
  maxTokens: number;
  /** Also steer with a norm-matched random direction (the control for every steering result). */
  randomControl: boolean;
}

export interface SteeringLabSample {
  text: string;
  trait: number | null;
  coherence: number | null;
}

/** One (series, coefficient) point of a run: the generations and the judge's mean scores. */
export interface SteeringLabCell {
  vectorPath: string;
  trait: string;
  /** "vector": the persona vector; "random": a norm-matched random direction (the control). */
  series: 'vector' | 'random';
  layer: number;
  coefficient: number;
  /** Mean judged score; null when the judge declined every sample. */
  meanTrait: number | null;
  meanCoherence: number | null;
  samples: SteeringLabSample[];
}

export const STEERING_RESULTS_FORMAT = 'persona-lens/steering-lab@1';

/** A saved run (what "Save results" writes and "Open results" reads). */
export interface SteeringLabResults {
  format: typeof STEERING_RESULTS_FORMAT;
  created: string;
  model: string;
  judge: string;
  settings: SteeringLabSettings;
  cells: SteeringLabCell[];
  /** False when the run was cancelled or failed part-way. */
  complete: boolean;
}

export const STEERING_LIMITS = { vectors: 8, steps: 50, samplesPerPoint: 32, maxTokens: 2048, coefficient: 1000, promptChars: 20000, layer: 1000, temperature: 2 } as const;

/** The coefficients a run steers with: the baseline 0 first, then `steps` values from min to max, ascending. */
export function coefficientGrid(min: number, max: number, steps: number): number[] {
  const lo = Math.min(min, max);
  const hi = Math.max(min, max);
  const values = steps <= 1 ? [hi] : Array.from({ length: steps }, (_, i) => lo + ((hi - lo) * i) / (steps - 1));
  // Rounded so that labels and saved files show 1.5, not 1.4999999999999998.
  const rounded = values.map((v) => Math.round(v * 1e6) / 1e6).map((v) => (Object.is(v, -0) ? 0 : v));
  return [0, ...[...new Set(rounded)].filter((v) => v !== 0)];
}


export function parseSteeringLabSettings(value: unknown): SteeringLabSettings | undefined {
  if (!isObject(value)) return undefined;
  const v = value;
  const L = STEERING_LIMITS;
  const ok =
    typeof v.prompt === 'string' && v.prompt.trim().length > 0 && v.prompt.length <= L.promptChars &&
    (v.system === undefined || (typeof v.system === 'string' && v.system.length <= L.promptChars)) &&
    Array.isArray(v.vectorPaths) && v.vectorPaths.length >= 1 && v.vectorPaths.length <= L.vectors && v.vectorPaths.every((p) => typeof p === 'string' && p.length > 0) &&
    isIntIn(v.layer, 0, L.layer) &&
    isFiniteNumber(v.coefficientMin) && Math.abs(v.coefficientMin) <= L.coefficient &&
    isFiniteNumber(v.coefficientMax) && Math.abs(v.coefficientMax) <= L.coefficient &&
    isIntIn(v.steps, 1, L.steps) &&
    isIntIn(v.samplesPerPoint, 1, L.samplesPerPoint) &&
    isFiniteNumber(v.temperature) && v.temperature >= 0 && v.temperature <= L.temperature &&
    isIntIn(v.seed, 0, 2 ** 32 - 1) &&
    isIntIn(v.maxTokens, 1, L.maxTokens) &&
    typeof v.randomControl === 'boolean';
  if (!ok) return undefined;
  return {
    prompt: v.prompt as string,
    ...(typeof v.system === 'string' && v.system ? { system: v.system } : {}),
    vectorPaths: [...(v.vectorPaths as string[])],
    layer: v.layer as number,
    coefficientMin: v.coefficientMin as number,
    coefficientMax: v.coefficientMax as number,
    steps: v.steps as number,
    samplesPerPoint: v.samplesPerPoint as number,
    temperature: v.temperature as number,
    seed: v.seed as number,
    maxTokens: v.maxTokens as number,
    randomControl: v.randomControl as boolean,
  };
}

export function parseSteeringLabCell(value: unknown): SteeringLabCell | undefined {
  if (!isObject(value)) return undefined;
  const v = value;
  const ok =
    typeof v.vectorPath === 'string' && typeof v.trait === 'string' && (v.series === 'vector' || v.series === 'random') &&
    isIntIn(v.layer, 0, STEERING_LIMITS.layer) && isFiniteNumber(v.coefficient) && isScore(v.meanTrait) && isScore(v.meanCoherence) &&
    Array.isArray(v.samples) && v.samples.every((s) => isObject(s) && typeof s.text === 'string' && isScore(s.trait) && isScore(s.coherence));
  if (!ok) return undefined;
  return {
    vectorPath: v.vectorPath as string,
    trait: v.trait as string,
    series: v.series as SteeringLabCell['series'],
    layer: v.layer as number,
    coefficient: v.coefficient as number,
    meanTrait: v.meanTrait as number | null,
    meanCoherence: v.meanCoherence as number | null,
    samples: (v.samples as SteeringLabSample[]).map((s) => ({ text: s.text, trait: s.trait, coherence: s.coherence })),
  };
}

/** Validates a results file's parsed JSON; throws an Error that says what is wrong (shown to the user). */
export function parseSteeringLabResults(value: unknown): SteeringLabResults {
  if (!isObject(value)) throw new Error('not a JSON object');
  if (value.format !== STEERING_RESULTS_FORMAT) throw new Error(`"format" must be "${STEERING_RESULTS_FORMAT}" (got ${JSON.stringify(value.format)?.slice(0, 60)})`);
  const settings = parseSteeringLabSettings(value.settings);
  if (!settings) throw new Error('"settings" is missing or invalid');
  if (!Array.isArray(value.cells)) throw new Error('"cells" must be an array');
  const cells = value.cells.map((c, i) => {
    const cell = parseSteeringLabCell(c);
    if (!cell) throw new Error(`cell ${i} is invalid`);
    return cell;
  });
  for (const key of ['created', 'model', 'judge'] as const) if (typeof value[key] !== 'string') throw new Error(`"${key}" must be a string`);
  if (typeof value.complete !== 'boolean') throw new Error('"complete" must be true or false');
  return { format: STEERING_RESULTS_FORMAT, created: value.created as string, model: value.model as string, judge: value.judge as string, settings, cells, complete: value.complete };
}
