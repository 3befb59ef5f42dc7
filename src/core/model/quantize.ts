/**
 * Weight precision: how a checkpoint's linear weights are stored in the cache, and the block quantizer that writes
 * them in onnxruntime's `MatMulNBits` layout (com.microsoft).
 *
 * Layout (onnxruntime ContribOperators.md, MatMulNBits): for an HF Linear weight W [N = out, K = in], B is uint8
 * [N, ceil(K / block), block · bits / 8], row n of B holding row n of W with values packed along K (4-bit: first
 * value in the low nibble); scales [N, ceil(K / block)] float32. Symmetric, as onnxruntime's own LLM builder
 * quantizes by default: no zero-point input, so the kernel uses the default 2^(bits−1) and can prepack B (float zero
 * points make the CPU kernel dequantize on every call). As in MLAS's symmetric block quantizer, the block's scale is
 * its largest-magnitude value (with its sign) over −2^(bits−1), so that value lands exactly on the most negative
 * code and the whole code range [−2^(bits−1), 2^(bits−1) − 1] is used (llama.cpp's Q4_0 / Q8_0 reference
 * quantizers do the same). A per-block search for the least-squares scale was measured: worst hidden-row cosine
 * 0.961 → 0.971 on a random llama checkpoint at int4, for 5× the preparation time; not kept.
 *
 * At int4, untied embeddings are stored at int8: they are only gathered (no matmul runs on them), so the extra bytes
 * cost no speed, and row 0 of the residual stream is then exact to 1e-4 (worst row 0.961 → 0.980 on that checkpoint).
 * Tied embeddings are also the lm_head, the largest matmul of a small model, and stay at int4.
 *
 * What stays float32 is decided by the graph builder: norms, biases, the residual stream, attention math, every
 * captured row and every steering input. Precision is a property of how a weight is stored, not a second decoder.
 */
import * as os from 'node:os';
import type { WeightPrecision, WeightPrecisionChoice } from './weightPrecision';

/** ggml's Q8_0 / Q4_0 block: GGUF weights of those types are copied into MatMulNBits blocks of this size, exactly. */
export const GGML_BLOCK = 32;

/**
 * Values per quantization block along K when we quantize. int4: 32 (onnxruntime's builder default, llama.cpp's
 * Q4_0): at 4 bits a block of 128 loses clearly more (worst hidden-row cosine on the random checkpoints 0.939
 * against 0.951). int8: 128 keeps the same fidelity (worst 0.9994 against 0.9997) with a quarter of the scales, and
 * onnxruntime's int8-compute kernel runs it 1.1–1.2× faster at decode and 1.36× at a 512-token prefill on the 0.5B
 * shape (`npm run bench`, AVX-512 VNNI, 2 threads).
 */
export const blockSizeOf = (bits: 4 | 8): number => (bits === 4 ? 32 : 128);

/** onnxruntime's accuracy_level 4: int8 compute for float A on AVX2 / AVX-512 / NEON (the fast CPU path). */
export const QUANT_ACCURACY_LEVEL = 4;

export const bitsOf = (precision: Exclude<WeightPrecision, 'f32'>): 4 | 8 => (precision === 'int4' ? 4 : 8);

/** Bump when quantized bytes change, so cached quantized weights are rebuilt. */
export const QUANTIZER_VERSION = 2;

/** Bytes per weight value at a precision, scales included (one float32 scale per block). */
export function bytesPerWeight(precision: WeightPrecision): number {
  if (precision === 'f32') return 4;
  const bits = bitsOf(precision);
  return bits / 8 + 4 / blockSizeOf(bits);
}

/** Models this small stay float32 under `auto`: exact, and already fast (the organism, test checkpoints). */
export const AUTO_F32_MAX_PARAMETERS = 200e6;
/** `auto` picks int8 while its estimate stays under this share of the available memory, else int4. */
export const AUTO_INT8_MEMORY_SHARE = 0.5;

/**
 * The `auto` rule: float32 for tiny models (≤ 200 M parameters), int8 while the model needs at most half of the
 * available memory at int8, int4 beyond.
 */
export function resolvePrecision(choice: WeightPrecisionChoice, parameters: number, requiredBytesAt: (p: WeightPrecision) => number, availableBytes = os.freemem()): WeightPrecision {
  if (choice !== 'auto') return choice;
  if (parameters <= AUTO_F32_MAX_PARAMETERS) return 'f32';
  return requiredBytesAt('int8') <= availableBytes * AUTO_INT8_MEMORY_SHARE ? 'int8' : 'int4';
}

/** Shapes of a quantized [N, K] weight in blocks of `block` values. */
export function quantizedShapes(n: number, k: number, bits: 4 | 8, block = blockSizeOf(bits)) {
  const blocks = Math.ceil(k / block);
  const blobBytes = (block * bits) / 8;
  return { block, blocks, blobBytes, packed: [n, blocks, blobBytes], scales: [n, blocks] };
}

/**
 * Quantizes rows of a row-major [rows, K] float32 matrix into MatMulNBits blocks. `packed` receives
 * rows · blocks · blobBytes bytes, `scales` rows · blocks floats (both for exactly these rows).
 */
export function quantizeRows(values: Float32Array, rows: number, k: number, bits: 4 | 8, packed: Uint8Array, scales: Float32Array, block = blockSizeOf(bits)): void {
  const { blocks, blobBytes } = quantizedShapes(rows, k, bits, block);
  const half = 1 << (bits - 1);
  const lo = -half;
  const hi = half - 1;
  for (let r = 0; r < rows; r++) {
    const row = r * k;
    for (let b = 0; b < blocks; b++) {
      const start = b * block;
      const end = Math.min(start + block, k);
      let extreme = 0;
      for (let i = start; i < end; i++) if (Math.abs(values[row + i]) > Math.abs(extreme)) extreme = values[row + i];
      const scale = extreme / -half;
      scales[r * blocks + b] = scale;
      const inverse = scale !== 0 ? 1 / scale : 0;
      const blob = (r * blocks + b) * blobBytes;
      for (let j = 0; j < block; j++) {
        // Padding past K (K not a multiple of the block) stores zero.
        const q = start + j < end ? Math.min(hi, Math.max(lo, Math.round(values[row + start + j] * inverse))) : 0;
        const code = q + half;
        if (bits === 8) packed[blob + j] = code;
        else if (j % 2 === 0) packed[blob + (j >> 1)] = code;
        else packed[blob + (j >> 1)] |= code << 4;
      }
    }
  }
}

/** The float32 values a quantized matrix stands for (tests and error measurements). */
export function dequantizeRows(packed: Uint8Array, scales: Float32Array, rows: number, k: number, bits: 4 | 8, block = blockSizeOf(bits)): Float32Array {
  const { blocks, blobBytes } = quantizedShapes(rows, k, bits, block);
  const half = 1 << (bits - 1);
  const out = new Float32Array(rows * k);
  for (let r = 0; r < rows; r++)
    for (let i = 0; i < k; i++) {
      const b = Math.floor(i / block);
      const j = i % block;
      const blob = (r * blocks + b) * blobBytes;
      const code = bits === 8 ? packed[blob + j] : (packed[blob + (j >> 1)] >> ((j % 2) * 4)) & 15;
      out[r * k + i] = (code - half) * scales[r * blocks + b];
    }
  return out;
}
