/**
 * Monitoring: the projection of the last prompt token's residual on a persona vector predicts how strongly the
 * model is about to express the trait (Chen et al. 2025, §4). Also Pearson correlation for validating it.
 */
import { leftPadded } from '../model/decoderSession';
import type { LoadedModel } from '../model/loadedModel';
import type { ChatMessage } from '../model/tokenizer';

/** Projections of each prompt's last token at `row` onto v̂_row (v is [rows·d]). One batched forward pass. */
export async function lastPromptProjections(model: LoadedModel, prompts: ChatMessage[][], vector: Float32Array, row: number): Promise<number[]> {
  const d = model.checkpoint.spec.hiddenSize;
  const v = vector.subarray(row * d, (row + 1) * d);
  let norm = 0;
  for (let i = 0; i < d; i++) norm += v[i] * v[i];
  norm = Math.sqrt(norm);
  if (norm === 0) throw new RangeError(`the vector is zero at layer ${row}`);
  const ids = prompts.map((m) => model.tokenizer.chat(m, true));
  const { tokens, valid, length: S } = leftPadded(ids);
  const out = await model.session.forward({
    tokens,
    valid,
    captureRows: [row],
    logits: 'none',
  });
  const h = out.hidden.get(row)!;
  return ids.map((_, b) => {
    let dot = 0;
    const base = (b * S + S - 1) * d;
    for (let i = 0; i < d; i++) dot += h[base + i] * v[i];
    return dot / norm;
  });
}
