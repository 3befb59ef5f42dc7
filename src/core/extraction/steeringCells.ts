/**
 * Judged steering cells for the layer search and its validation. A cell is a vector at one residual row scaled by
 * α (0 = unsteered), optionally under a system prompt, answered on a set of questions and judged; its value is the
 * mean trait and coherence. All the cells of one round are generated together, in batches of up to `maxBatch`
 * answers: one cell is often a handful of answers, and a decoder step costs about the same for 1 row as for 16 on
 * a CPU. Every answer's sampler is seeded by its place in its own cell, so an answer does not depend on the batch
 * it ran in, and each cell's means are cached under a digest of everything that produced them.
 */
import { createHash } from 'node:crypto';
import type { RunContext } from '../cancellation';
import { JUDGE_CHUNK, judgeCacheId, type Judge } from '../judges/judge';
import type { LoadedModel } from '../model/loadedModel';
import { generate } from '../model/generate';
import { buildRowIntervention, type RowIntervention } from '../model/steering';
import type { TraitDefinition } from '../traits/trait';
import { VERSION } from '../version';
import { evaluationPlan, type SteeringEvaluation } from './steeringEvaluation';
import { meanScore } from './steeringSweep';
import type { ExtractionStore } from './store';

export interface CellSpec {
  /** [rows·d]; row `row` is used. */
  vector: Float32Array;
  row: number;
  coefficient: number;
  system?: string;
}

export interface CellScore {
  meanTrait: number;
  meanCoherence: number;
}

/** The answers a set of cells is measured on. */
export interface CellAnswers {
  questions: string[];
  evaluation: SteeringEvaluation;
  maxTokens: number;
}

/**
 * Answers per generate call. Measured on the 0.5B shape at int8, 2 cores (`npm run bench`, greedy, 48-token prompts,
 * 32 tokens; the cores were shared with a test run): 15 tokens/s at batch 1, 37 at 8, 43 at 32, 45 at 64 — the gain
 * flattens past 32, while the KV cache of 32 answers of a 7B model stays under 1 GB.
 */
export const DEFAULT_MAX_BATCH = 32;

/** Bumped when generation, steering or judging changes what a cell would measure, so old cached cells are not used. */
const CELL_FORMAT = 2;

export class SteeringCells {
  private readonly digests = new WeakMap<Float32Array, string>();

  constructor(
    private readonly model: LoadedModel,
    private readonly judge: Judge,
    private readonly trait: TraitDefinition,
    private readonly options: { cache?: ExtractionStore; maxBatch?: number } = {},
  ) {}

  /**
   * Generated tokens measuring `cells` may cost on `answers` (an upper bound: answers may end early). A cell asked
   * twice is generated once, so it counts once — as `measure` reports it.
   */
  plannedTokens(cells: CellSpec[], answers: CellAnswers): number {
    const plan = evaluationPlan(answers.questions, answers.evaluation);
    const distinct = new Set(cells.map((c) => this.keyOf(c, plan, answers.maxTokens))).size;
    return distinct * plan.questions.length * answers.maxTokens;
  }

  /**
   * Judged means of every cell, in order. Cached cells are not generated again; `onGenerated` is told the planned
   * tokens of each batch as it finishes (progress), cached cells count at once. Means the judge never gave (it
   * declined every answer) are NaN and are not kept.
   */
  async measure(cells: CellSpec[], answers: CellAnswers, ctx?: RunContext, onGenerated?: (plannedTokens: number) => void): Promise<CellScore[]> {
    const { model } = this;
    const plan = evaluationPlan(answers.questions, answers.evaluation);
    const perCell = plan.questions.length;
    const seed = plan.sampling?.seed ?? 0;
    const keys = cells.map((c) => this.keyOf(c, plan, answers.maxTokens));
    const results: (CellScore | undefined)[] = keys.map((k) => this.options.cache?.steeringCell(k));
    // The same cell asked twice (the unsteered cell behind both 0·v and 0·random) is generated once.
    const first = keys.map((k) => keys.indexOf(k));
    const cached = results.filter((r, i) => r && first[i] === i).length;
    if (cached) onGenerated?.(cached * perCell * answers.maxTokens);

    const rowsTotal = model.session.rows;
    const d = model.checkpoint.spec.hiddenSize;
    const promptOf = new Map<string, number[]>();
    const chat = (system: string | undefined, question: string) => {
      const id = `${system ?? ''}\u0000${question}`;
      let ids = promptOf.get(id);
      if (!ids) promptOf.set(id, (ids = model.tokenizer.chat([...(system ? [{ role: 'system' as const, content: system }] : []), { role: 'user', content: question }], true)));
      return ids;
    };
    interface Answer { cell: number; question: string; prompt: number[]; intervention: RowIntervention; seed: number }
    const pending: Answer[] = [];
    cells.forEach((c, i) => {
      if (results[i] || first[i] !== i) return;
      const intervention = c.coefficient === 0 ? {} : buildRowIntervention([{ vector: c.vector.subarray(c.row * d, (c.row + 1) * d), rows: [c.row], coefficient: c.coefficient }], rowsTotal, d);
      plan.questions.forEach((question, j) => pending.push({ cell: i, question, prompt: chat(c.system, question), intervention, seed: seed + j * 7919 }));
    });
    // Similar lengths share a batch, so left padding wastes little.
    pending.sort((a, b) => a.prompt.length - b.prompt.length);

    const trait: (number | null)[][] = cells.map(() => []);
    const coherence: (number | null)[][] = cells.map(() => []);
    const maxBatch = Math.max(1, this.options.maxBatch ?? DEFAULT_MAX_BATCH);
    for (let start = 0; start < pending.length; start += maxBatch) {
      await ctx?.checkpoint();
      const batch = pending.slice(start, start + maxBatch);
      const out = await generate(model.session, model.tokenizer, {
        prompts: batch.map((a) => a.prompt),
        maxTokens: answers.maxTokens,
        eosTokenIds: model.eosTokenIds,
        interventions: batch.map((a) => a.intervention),
        positions: 'all',
        sampling: plan.sampling,
        seeds: plan.sampling ? batch.map((a) => a.seed) : undefined,
      });
      for (let j = 0; j < batch.length; j += JUDGE_CHUNK) {
        const chunk = batch.slice(j, j + JUDGE_CHUNK);
        const scores = await Promise.all(chunk.map((a, k) => this.judge.score({ trait: this.trait, question: a.question, answer: out.texts[j + k] }, ctx?.signal)));
        chunk.forEach((a, k) => {
          trait[a.cell].push(scores[k].trait);
          coherence[a.cell].push(scores[k].coherence);
        });
      }
      onGenerated?.(batch.length * answers.maxTokens);
    }
    const scores = cells.map((_, i): CellScore | undefined => {
      const hit = results[i];
      if (hit) return { meanTrait: hit.meanTrait, meanCoherence: hit.meanCoherence };
      if (first[i] !== i) return undefined;
      const score = { meanTrait: meanScore(trait[i]), meanCoherence: meanScore(coherence[i]) };
      if (Number.isFinite(score.meanTrait) && Number.isFinite(score.meanCoherence)) this.options.cache?.addSteeringCell({ key: keys[i], ...score });
      return score;
    });
    return scores.map((s, i) => s ?? scores[first[i]]!);
  }

  private keyOf(cell: CellSpec, plan: ReturnType<typeof evaluationPlan>, maxTokens: number): string {
    const steered = cell.coefficient !== 0; // unsteered cells depend on neither the vector nor the row
    return createHash('sha256')
      .update(JSON.stringify({ format: CELL_FORMAT, tool: VERSION, judge: judgeCacheId(this.judge), vector: steered ? this.digestOf(cell.vector) : null, row: steered ? cell.row : null, coefficient: cell.coefficient, system: cell.system ?? null, ...plan, maxTokens }))
      .digest('hex');
  }

  private digestOf(v: Float32Array): string {
    let digest = this.digests.get(v);
    if (!digest) this.digests.set(v, (digest = createHash('sha256').update(Buffer.from(v.buffer, v.byteOffset, v.byteLength)).digest('hex')));
    return digest;
  }
}
