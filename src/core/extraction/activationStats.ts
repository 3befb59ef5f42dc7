/**
 * Averaging the residual stream of one conversation (prompt + response tokens) at every row, the three ways the
 * paper uses: over response tokens (the vector's default), over prompt tokens, and at the last prompt token
 * (monitoring and finetuning shift).
 */
import type { DecoderSession } from '../model/decoderSession';

export type ActivationVariant = 'response_avg' | 'prompt_avg' | 'prompt_last';
export const ACTIVATION_VARIANTS: ActivationVariant[] = ['response_avg', 'prompt_avg', 'prompt_last'];

export interface ConversationActivations {
  /** variant → [rows·d] */
  means: Record<ActivationVariant, Float32Array>;
  /** Mean L2 norm of the residual at each row over response tokens (for reporting α relative to it). */
  responseNorms: Float32Array;
}

/** Runs prompt+response through the model (one forward pass) and averages every residual row. */
export async function conversationActivations(session: DecoderSession, promptIds: number[], responseIds: number[]): Promise<ConversationActivations> {
  if (promptIds.length === 0) throw new RangeError('empty prompt');
  const rows = session.rows;
  const d = session.spec.hiddenSize;
  const tokens = [...promptIds, ...responseIds];
  const out = await session.forward({ tokens: [tokens], captureRows: Array.from({ length: rows }, (_, r) => r), logits: 'none' });
  const P = promptIds.length;
  const S = tokens.length;
  const means = { response_avg: new Float32Array(rows * d), prompt_avg: new Float32Array(rows * d), prompt_last: new Float32Array(rows * d) };
  const responseNorms = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    const h = out.hidden.get(r)!;
    const acc = new Float64Array(d);
    const accP = new Float64Array(d);
    let norms = 0;
    for (let s = 0; s < S; s++) {
      const target = s < P ? accP : acc;
      let sq = 0;
      for (let i = 0; i < d; i++) {
        const x = h[s * d + i];
        target[i] += x;
        sq += x * x;
      }
      if (s >= P) norms += Math.sqrt(sq);
    }
    const nResp = S - P;
    for (let i = 0; i < d; i++) {
      // A response with no tokens (immediate EOS) has no response average; it stays zero and is filtered out.
      means.response_avg[r * d + i] = nResp > 0 ? acc[i] / nResp : 0;
      means.prompt_avg[r * d + i] = accP[i] / P;
      means.prompt_last[r * d + i] = h[(P - 1) * d + i];
    }
    responseNorms[r] = nResp > 0 ? norms / nResp : 0;
  }
  return { means, responseNorms };
}

/** Projection of x on the unit vector along v, per row: (x_r · v_r) / |v_r|. */
export function projectRows(x: Float32Array, v: Float32Array, rows: number, d: number): Float64Array {
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let dot = 0;
    let nn = 0;
    for (let i = 0; i < d; i++) {
      dot += x[r * d + i] * v[r * d + i];
      nn += v[r * d + i] * v[r * d + i];
    }
    out[r] = nn > 0 ? dot / Math.sqrt(nn) : 0;
  }
  return out;
}

export function rowNorms(v: Float32Array, rows: number, d: number): Float64Array {
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let nn = 0;
    for (let i = 0; i < d; i++) nn += v[r * d + i] ** 2;
    out[r] = Math.sqrt(nn);
  }
  return out;
}
