/**
 * Steering sweep: generate answers to evaluation questions with α·v added at a residual row, judge them, and
 * average. Used to recommend a layer and coefficient, for dose–response curves, and by the panel's steering lab.
 * Each (row, α) cell runs all questions as one batch; a norm-matched random direction is the control.
 */
import { cancelOnly, type RunContext } from '../cancellation';
import type { Judge } from '../judges/judge';
import type { LoadedModel } from '../model/loadedModel';
import type { TraitDefinition } from '../traits/trait';
import { generate } from '../model/generate';
import { buildRowIntervention, type SteerPositions } from '../model/steering';
import { seededRandom, type SamplingOptions } from '../model/sampling';
import { mean } from '../stats';

export interface SweepRequest {
  trait: TraitDefinition;
  /** [rows·d] vector; row r is used when steering row r. */
  vector: Float32Array;
  rows: number[];
  coefficients: number[];
  questions: string[];
  system?: string;
  maxTokens: number;
  positions?: SteerPositions;
  /** Greedy when absent; seeded sampling gives several distinct samples of one question (the steering lab). */
  sampling?: SamplingOptions;
}

export interface SweepSample {
  question: string;
  text: string;
  trait: number | null;
  coherence: number | null;
}

export interface SweepCell {
  row: number;
  coefficient: number;
  meanTrait: number;
  meanCoherence: number;
  /** |α·v_row| / mean |h_row|, when residual norms are known. */
  relativeStrength?: number;
  /** The extraction's layer search only: a norm-matched random direction's trait score at the same row and α. */
  control?: number;
  /** The extraction's layer search only: under the trait's eliciting prompts at −α. */
  suppressed?: { trait: number; coherence: number };
  /** The extraction's layer search only: the round that measured it last (0-based), and on how many answers. */
  round?: number;
  answers?: number;
  samples: SweepSample[];
}

/** A cell without its samples, as stored in vector files and sent to the panel. */
export type SweepSummary = Omit<SweepCell, 'samples'>;

export function summarizeCell({ samples: _samples, ...summary }: SweepCell): SweepSummary {
  return summary;
}

/** Mean of the scores the judge gave (declined scores are left out). */
export function meanScore(xs: (number | null)[]): number {
  return mean(xs.filter((x): x is number => x !== null));
}

export async function steeringSweep(model: LoadedModel, judge: Judge, request: SweepRequest, ctx?: RunContext, onCell?: (cell: SweepCell) => void): Promise<SweepCell[]> {
  const { tokenizer, session } = model;
  const rowsTotal = session.rows;
  const d = model.checkpoint.spec.hiddenSize;
  const prompts = request.questions.map((q) =>
    tokenizer.chat([...(request.system ? [{ role: 'system' as const, content: request.system }] : []), { role: 'user', content: q }], true),
  );
  const cells: SweepCell[] = [];
  const total = request.rows.length * request.coefficients.length;
  for (const row of request.rows) {
    const v = request.vector.subarray(row * d, (row + 1) * d);
    for (const coefficient of request.coefficients) {
      await ctx?.checkpoint();
      const iv = coefficient === 0 ? {} : buildRowIntervention([{ vector: v, rows: [row], coefficient }], rowsTotal, d);
      const result = await generate(session, tokenizer, {
        prompts,
        maxTokens: request.maxTokens,
        eosTokenIds: model.eosTokenIds,
        interventions: prompts.map(() => iv),
        positions: request.positions ?? 'all',
        sampling: request.sampling,
      }, cancelOnly(ctx));
      // The answers are judged concurrently (an HTTP or host judge bounds its own concurrency); order is kept.
      const scores = await Promise.all(result.texts.map((answer, i) => judge.score({ trait: request.trait, question: request.questions[i], answer }, ctx?.signal)));
      const samples: SweepSample[] = scores.map((score, i) => ({ question: request.questions[i], text: result.texts[i], trait: score.trait, coherence: score.coherence }));
      const cell: SweepCell = { row, coefficient, meanTrait: meanScore(samples.map((s) => s.trait)), meanCoherence: meanScore(samples.map((s) => s.coherence)), samples };
      cells.push(cell);
      onCell?.(cell);
      ctx?.progress(cells.length, total, `steering layer ${row}, α=${coefficient}`);
    }
  }
  return cells;
}

/** A random direction with the same norm as v at every row (the control for every steering result). */
export function normMatchedRandom(vector: Float32Array, rows: number, d: number, seed: number): Float32Array {
  const random = seededRandom(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(random() + 1e-12)) * Math.cos(2 * Math.PI * random());
  const out = new Float32Array(rows * d);
  for (let r = 0; r < rows; r++) {
    let target = 0;
    let norm = 0;
    for (let i = 0; i < d; i++) {
      target += vector[r * d + i] ** 2;
      out[r * d + i] = gauss();
      norm += out[r * d + i] ** 2;
    }
    const scale = Math.sqrt(target / norm);
    for (let i = 0; i < d; i++) out[r * d + i] *= scale;
  }
  return out;
}
