/**
 * Batched generation with a KV cache: left-padded prefill, then one token per step; greedy or seeded sampling;
 * EOS, stop strings and a token limit; optional per-row steering at chosen positions; longrope models re-run the
 * whole sequence once where it outgrows the original context, as HF does. Cancel is checked between steps, and the
 * event loop turns there.
 */
import { yieldToEventLoop, type RunContext } from '../cancellation';
import { leftPadded, type DecoderSession } from './decoderSession';
import type { Tokenizer } from './tokenizer';
import { sampleToken, seededRandom, type SamplingOptions } from './sampling';
import type { RowIntervention, SteerPositions } from './steering';

export interface GenerateRequest {
  /** Token ids of each prompt (one batch row each). */
  prompts: number[][];
  maxTokens: number;
  sampling?: SamplingOptions;
  /**
   * Per batch row: the seed of that row's sampler. Default `sampling.seed + b·7919`. Callers that batch unrelated
   * work together (several steering cells, rollouts of several questions) pass seeds that belong to the work item,
   * so an answer does not change with the batch it happened to run in.
   */
  seeds?: number[];
  eosTokenIds: number[];
  stopStrings?: string[];
  /** Per batch row (same length as prompts), or one for all rows. */
  interventions?: RowIntervention[];
  positions?: SteerPositions;
  /** Fetch these residual rows for every generated token (e.g. for monitoring). */
  captureRows?: number[];
}

export type FinishReason = 'eos' | 'stop' | 'length';

export interface GenerateResult {
  tokens: number[][];
  texts: string[];
  finishReasons: FinishReason[];
}

export async function generate(session: DecoderSession, tokenizer: Tokenizer, request: GenerateRequest, ctx?: RunContext): Promise<GenerateResult> {
  const B = request.prompts.length;
  if (B === 0) return { tokens: [], texts: [], finishReasons: [] };
  if (request.prompts.some((p) => p.length === 0)) throw new RangeError('every prompt needs at least one token');
  if (!(request.maxTokens >= 0)) throw new RangeError('maxTokens must be ≥ 0');
  const positions = request.positions ?? 'all';
  const interventions = request.interventions ?? [];
  const hasIntervention = interventions.some((iv) => iv.add || iv.ablate);
  const sampleSeed = request.sampling?.seed ?? 0;
  if (request.seeds && request.seeds.length !== B) throw new RangeError(`seeds has ${request.seeds.length} entries for ${B} prompts`);
  const randoms = request.prompts.map((_, b) => seededRandom(request.seeds?.[b] ?? sampleSeed + b * 7919));
  const vocab = session.spec.vocabSize;

  // Left-pad so every row's last prompt token is at the same step.
  const { tokens, valid, length: S } = leftPadded(request.prompts);
  const applies = (phase: 'prompt' | 'generated') => (positions === 'all' || positions === phase ? 1 : 0);
  /** The intervention over `width` positions, the first `promptWidth` of them prompt tokens, the rest generated. */
  const intervention = (width: number, promptWidth: number) =>
    hasIntervention
      ? {
          add: request.prompts.map((_, b) => (interventions.length === 1 ? interventions[0] : interventions[b])?.add),
          ablate: request.prompts.map((_, b) => (interventions.length === 1 ? interventions[0] : interventions[b])?.ablate),
          mask: request.prompts.map(() => Uint8Array.from({ length: width }, (_, s) => applies(s < promptWidth ? 'prompt' : 'generated'))),
        }
      : undefined;
  // Every position so far (padded prompt, then each step's token), for a longrope re-prefill.
  const history = tokens.map((row) => [...row]);
  const historyValid = valid.map((row) => Array.from(row));

  let out = await session.forward({ tokens, valid, logits: 'last', intervention: intervention(S, S) });
  const generated: number[][] = request.prompts.map(() => []);
  const finish: (FinishReason | undefined)[] = request.prompts.map(() => undefined);
  const texts = request.prompts.map(() => '');
  for (let step = 0; step < request.maxTokens; step++) {
    const next: number[] = [];
    for (let b = 0; b < B; b++) {
      if (finish[b]) {
        next.push(0);
        continue;
      }
      const token = sampleToken(out.logits!, b * vocab, vocab, request.sampling ?? {}, randoms[b]);
      if (request.eosTokenIds.includes(token)) {
        finish[b] = 'eos';
        next.push(0);
        continue;
      }
      generated[b].push(token);
      next.push(token);
      if (request.stopStrings?.length) {
        const text = tokenizer.decode(generated[b]);
        const hit = firstStop(text, request.stopStrings);
        if (hit !== undefined) {
          texts[b] = text.slice(0, hit);
          finish[b] = 'stop';
        }
      }
    }
    ctx?.progress(step + 1, request.maxTokens, `token ${step + 1}/${request.maxTokens}`);
    if (finish.every(Boolean) || step === request.maxTokens - 1) break;
    // Without a context (a batch whose caller checks between batches) the loop still turns each step, so a cancel or a
    // Ctrl+C is acknowledged at once rather than when the batch ends.
    await (ctx ? ctx.checkpoint() : yieldToEventLoop());
    const stepValid = finish.map((f) => Uint8Array.of(f ? 0 : 1));
    next.forEach((t, b) => {
      history[b].push(t);
      historyValid[b].push(stepValid[b][0]);
    });
    const decodeStep = { tokens: next.map((t) => [t]), valid: stepValid, past: out.cache };
    if (session.needsRecompute(decodeStep)) {
      // longrope (Phi-3 128k, Phi-3.5, Phi-4-mini): this step reaches past the original context, where the long
      // factors take over for the whole pass, but the cached keys were rotated with the short ones. HF's
      // Phi3ForCausalLM.prepare_inputs_for_generation drops the cache at exactly this step (sequence length
      // original + 1 with a cache of at most original) and runs the whole sequence again, so every key and query is
      // rotated with the long factors; later steps extend that cache. We do the same: one full pass, then on as before.
      const width = history[0].length;
      out = await session.forward({ tokens: history, valid: historyValid.map((row) => Uint8Array.from(row)), logits: 'last', intervention: intervention(width, S) });
    } else {
      out = await session.forward({ ...decodeStep, logits: 'last', intervention: intervention(1, 0) });
    }
  }
  return {
    tokens: generated,
    texts: generated.map((g, b) => (finish[b] === 'stop' ? texts[b] : tokenizer.decode(g))),
    finishReasons: finish.map((f) => f ?? 'length'),
  };
}

function firstStop(text: string, stops: string[]): number | undefined {
  let best: number | undefined;
  for (const s of stops) {
    const i = s ? text.indexOf(s) : -1;
    if (i >= 0 && (best === undefined || i < best)) best = i;
  }
  return best;
}
