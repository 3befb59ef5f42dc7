/** Rotary position embedding tables, computed exactly as HF does (float32 inv_freq and angles, half-split layout). */
import type { RopeSpec } from './config';

/**
 * inv_freq[i] for i < dim/2 (dim: the rotary dimensions, headDim unless partial), with llama3 frequency scaling (as
 * HF parameters or GGUF factors), linear scaling, or longrope's short / long factors (`long`) when configured.
 */
export function inverseFrequencies(headDim: number, rope: RopeSpec, long = false): Float32Array {
  const half = headDim / 2;
  const inv = new Float32Array(half);
  if (rope.longrope) {
    // HF: 1 / (ext_factors · base^(arange(0, dim, 2) / dim)), all float32.
    const ext = long ? rope.longrope.longFactor : rope.longrope.shortFactor;
    for (let i = 0; i < half; i++) inv[i] = 1 / Math.fround(Math.fround(ext[i]) * Math.fround(rope.theta ** Math.fround((2 * i) / headDim)));
    return inv;
  }
  for (let i = 0; i < half; i++) inv[i] = 1 / Math.fround(rope.theta ** Math.fround((2 * i) / headDim));
  if (rope.linearFactor) return inv.map((f) => f / rope.linearFactor!);
  // llama.cpp divides each frequency by its factor (ggml_rope_ext's freq_factors).
  if (rope.frequencyFactors) return inv.map((f, i) => f / rope.frequencyFactors![i]);
  const s = rope.llama3;
  if (!s) return inv;
  const lowFreqWavelen = s.originalMaxPositions / s.lowFreqFactor;
  const highFreqWavelen = s.originalMaxPositions / s.highFreqFactor;
  for (let i = 0; i < half; i++) {
    const wavelen = (2 * Math.PI) / inv[i];
    const scaled = wavelen > lowFreqWavelen ? inv[i] / s.factor : inv[i];
    const smooth = (s.originalMaxPositions / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
    const smoothed = (1 - smooth) * (scaled / s.factor) + smooth * scaled;
    const isMedium = !(wavelen < highFreqWavelen) && !(wavelen > lowFreqWavelen);
    inv[i] = isMedium ? smoothed : scaled;
  }
  return inv;
}

/**
 * cos and sin tables [positions.length, dim/2] for the given positions: one entry per rotated pair, the layout of ONNX
 * RotaryEmbedding's caches (HF's cat(freqs, freqs) holds each twice). The angle is rounded to float32 as HF computes
 * it in float32.
 */
export function rotaryTables(positions: ArrayLike<number>, invFreq: Float32Array, attentionFactor = 1): { cos: Float32Array; sin: Float32Array } {
  const half = invFreq.length;
  const cos = new Float32Array(positions.length * half);
  const sin = new Float32Array(positions.length * half);
  for (let p = 0; p < positions.length; p++) {
    const pos = positions[p];
    for (let i = 0; i < half; i++) {
      const angle = Math.fround(pos * invFreq[i]);
      // longrope's attention factor scales cos and sin (HF: emb.cos() * attention_scaling, a float32 multiply by the
      // factor rounded to float32, as a GGUF file stores it too).
      cos[p * half + i] = attentionFactor === 1 ? Math.cos(angle) : Math.fround(Math.cos(angle)) * Math.fround(attentionFactor);
      sin[p * half + i] = attentionFactor === 1 ? Math.sin(angle) : Math.fround(Math.sin(angle)) * Math.fround(attentionFactor);
    }
  }
  return { cos, sin };
}
