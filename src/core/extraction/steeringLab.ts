/**
 * The steering lab run: one prompt, steered by one or more persona vectors at one layer across a grid of
 * coefficients, each with a norm-matched random direction as the control. It drives steeringSweep (one sweep per
 * series) and reports every finished cell at once, so the panel shows runs as they finish.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import type { RunContext } from '../cancellation';
import type { Judge } from '../judges/judge';
import type { LoadedModel } from '../model/loadedModel';
import type { TraitDefinition } from '../traits/trait';
import { findTrait } from '../traits/builtinTraits';
import { loadTraitVector } from '../vectors/traitVector';
import { normMatchedRandom, steeringSweep, type SweepCell } from './steeringSweep';
import { evaluationPlan } from './steeringEvaluation';
import type { SteeringLabCell } from './steeringLabResults';

export interface SteeringLabRequest {
  prompt: string;
  system?: string;
  vectorPaths: string[];
  /** Folders holding `<trait>.json` definitions (e.g. a workspace's .persona/traits), searched before the model's
   * own traits/ and the built-in library: the judge scores each vector's trait with that trait's rubric. */
  traitFolders: string[];
  layer: number;
  /** In run order; the baseline 0 first (see coefficientGrid). */
  coefficients: number[];
  samplesPerPoint: number;
  /** 0 = greedy; above 0, seeded sampling (several samples per point differ only when sampling). */
  temperature: number;
  seed: number;
  maxTokens: number;
  randomControl: boolean;
}

/** A vector file's trait definition and its direction at `layer`, placed in a [rows·d] array (steeringSweep's layout). */
function labSeries(file: string, layer: number, rows: number, d: number, traitFolders: string[]): { path: string; trait: TraitDefinition; direction: Float32Array } {
  if (!existsSync(file)) throw new Error(`The vector file ${file} does not exist (moved or deleted?).`);
  const vector = loadTraitVector(file, rows, d, layer);
  const trait = findTrait(vector.name, traitFolders);
  if (!trait) throw new Error(`No definition of the trait "${vector.name}" (${path.basename(file)}): the judge needs its rubric. Put ${vector.name}.json in .persona/traits.`);
  const direction = new Float32Array(rows * d);
  direction.set(vector.direction, layer * d);
  return { path: file, trait, direction };
}

const round = (x: number): number | null => (Number.isFinite(x) ? Math.round(x * 100) / 100 : null);

/** `modelDir`'s traits/ folder is searched after request.traitFolders (the organism ships its traits there). */
export async function runSteeringLab(model: LoadedModel, modelDir: string, judge: Judge, request: SteeringLabRequest, ctx?: RunContext, onCell?: (cell: SteeringLabCell) => void): Promise<SteeringLabCell[]> {
  const rows = model.session.rows;
  const d = model.checkpoint.spec.hiddenSize;
  if (!Number.isInteger(request.layer) || request.layer < 0 || request.layer >= rows) throw new RangeError(`layer ${request.layer} is outside 0–${rows - 1} for this model`);
  if (!request.prompt.trim()) throw new RangeError('the prompt is empty');
  if (!request.vectorPaths.length) throw new RangeError('choose at least one vector');
  // Every vector is read and checked before the first generation: a bad file fails the run at once.
  const folders = [...request.traitFolders, path.join(modelDir, 'traits')];
  const series = request.vectorPaths.map((file) => labSeries(file, request.layer, rows, d, folders));
  // α = 0 leaves the model unsteered, so the random control reuses the vector's baseline instead of re-running it.
  const randomCoefficients = request.coefficients.filter((c) => c !== 0);
  const perVector = request.coefficients.length + (request.randomControl ? randomCoefficients.length : 0);
  const total = series.length * perVector;
  // The same seed at every coefficient: the cells differ by the steering, not by the dice.
  const { questions, sampling } = evaluationPlan([request.prompt], { samplesPerQuestion: request.samplesPerPoint, temperature: request.temperature, seed: request.seed });
  const cells: SteeringLabCell[] = [];

  const sweep = async (v: (typeof series)[number], kind: SteeringLabCell['series'], direction: Float32Array, coefficients: number[]) => {
    const offset = cells.length;
    const sub: RunContext | undefined = ctx && {
      checkpoint: () => ctx.checkpoint(),
      signal: ctx.signal,
      progress: (done, _total, message) => ctx.progress(offset + done, total, `${v.trait.name}${kind === 'random' ? ' (random control)' : ''}: ${message ?? ''}`),
    };
    const toCell = (c: SweepCell): SteeringLabCell => ({
      vectorPath: v.path,
      trait: v.trait.name,
      series: kind,
      layer: c.row,
      coefficient: c.coefficient,
      meanTrait: round(c.meanTrait),
      meanCoherence: round(c.meanCoherence),
      samples: c.samples.map((s) => ({ text: s.text, trait: s.trait, coherence: s.coherence })),
    });
    await steeringSweep(
      model,
      judge,
      { trait: v.trait, vector: direction, rows: [request.layer], coefficients, questions, system: request.system, maxTokens: request.maxTokens, sampling },
      sub,
      (c) => {
        const cell = toCell(c);
        cells.push(cell);
        onCell?.(cell);
      },
    );
  };

  for (const v of series) {
    await sweep(v, 'vector', v.direction, request.coefficients);
    if (request.randomControl && randomCoefficients.length) await sweep(v, 'random', normMatchedRandom(v.direction, rows, d, request.seed), randomCoefficients);
  }
  return cells;
}
