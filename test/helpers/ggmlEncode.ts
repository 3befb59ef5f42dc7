/**
 * Test-side encoders from float32 to ggml block types, so tests can write GGUF model files from random weights.
 *
 * Q8_0, Q4_0, Q4_1, Q5_0 and Q5_1 follow ggml's reference quantizers (`quantize_row_*_ref`, ggml-quants.c) step by
 * step in float32 (Math.fround after each float operation, as C evaluates them without FMA contraction). The
 * K-quants use a simpler scale choice than ggml's iterative `make_qkx2_quants` / `make_qx_quants` search: per
 * sub-block min/max (Q4_K, Q5_K) or signed absmax (Q6_K), then the super-block scales as ggml packs them. The
 * bytes are valid blocks of each type; only the error is a little larger than llama-quantize's.
 */
import type { GgmlTypeName } from '../../src/core/gguf/ggmlTypes';

const f = Math.fround;
const scratch = new DataView(new ArrayBuffer(4));
const bitsOf = (x: number) => { scratch.setFloat32(0, x); return scratch.getUint32(0); };
const fromBits = (u: number) => { scratch.setUint32(0, u >>> 0); return scratch.getFloat32(0); };

/** ggml_compute_fp32_to_fp16 (ggml-impl.h): round to nearest even, overflow to Inf, NaN to 0x7E00. */
export function fp32ToFp16(value: number): number {
  let base = f(f(Math.abs(f(value)) * 2 ** 112) * 2 ** -110);
  const w = bitsOf(value);
  const shl1 = (w * 2) % 2 ** 32;
  const sign = (w & 0x80000000) >>> 0;
  let bias = (shl1 & 0xff000000) >>> 0;
  if (bias < 0x71000000) bias = 0x71000000;
  base = f(fromBits((bias >>> 1) + 0x07800000) + base);
  const b = bitsOf(base);
  const nonsign = ((b >>> 13) & 0x7c00) + (b & 0x0fff);
  return ((sign >>> 16) | (shl1 > 0xff000000 ? 0x7e00 : nonsign)) & 0xffff;
}

/** f16 bits → value (IEEE binary16), for the encoders' own use of the stored scale. */
export function fp16ToNumber(h: number): number {
  const e = (h >> 10) & 31;
  const m = h & 1023;
  const s = h & 0x8000 ? -1 : 1;
  if (e === 31) return m ? NaN : s * Infinity;
  return e === 0 ? s * m * 2 ** -24 : s * (1 + m / 1024) * 2 ** (e - 15);
}

/** ggml_compute_fp32_to_bf16: round to nearest even, NaN forced quiet. */
export function fp32ToBf16(value: number): number {
  const u = bitsOf(value);
  if ((u & 0x7fffffff) >>> 0 > 0x7f800000) return ((u >>> 16) | 64) & 0xffff;
  return Math.floor((u + 0x7fff + ((u >>> 16) & 1)) / 65536) & 0xffff;
}

const putHalf = (out: Uint8Array, o: number, h: number) => { out[o] = h & 255; out[o + 1] = h >> 8; };
/** C's roundf: half away from zero. */
const roundf = (x: number) => Math.sign(x) * Math.round(Math.abs(x));
/** The signed value of largest magnitude (the first such), as the Q4_0 / Q5_0 reference quantizers pick it. */
function signedMax(x: Float32Array, start: number, n: number): number {
  let amax = 0, max = 0;
  for (let j = 0; j < n; j++) {
    const v = x[start + j];
    if (amax < Math.abs(v)) { amax = Math.abs(v); max = v; }
  }
  return max;
}
function minMax(x: Float32Array, start: number, n: number): [number, number] {
  let min = Infinity, max = -Infinity;
  for (let j = 0; j < n; j++) { const v = x[start + j]; if (v < min) min = v; if (v > max) max = v; }
  return [min, max];
}

/** quantize_row_q8_0_ref. */
function q8_0(x: Float32Array, out: Uint8Array): void {
  for (let i = 0; i < x.length / 32; i++) {
    let amax = 0;
    for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[i * 32 + j]));
    const d = f(amax / 127);
    const id = d ? f(1 / d) : 0;
    putHalf(out, i * 34, fp32ToFp16(d));
    for (let j = 0; j < 32; j++) out[i * 34 + 2 + j] = roundf(f(x[i * 32 + j] * id)) & 255;
  }
}

/** quantize_row_q4_0_ref (qs[j] = value j | value j+16 << 4). */
function q4_0(x: Float32Array, out: Uint8Array): void {
  for (let i = 0; i < x.length / 32; i++) {
    const d = f(signedMax(x, i * 32, 32) / -8);
    const id = d ? f(1 / d) : 0;
    putHalf(out, i * 18, fp32ToFp16(d));
    for (let j = 0; j < 16; j++) {
      const xi0 = Math.min(15, Math.trunc(f(f(x[i * 32 + j] * id) + 8.5)));
      const xi1 = Math.min(15, Math.trunc(f(f(x[i * 32 + 16 + j] * id) + 8.5)));
      out[i * 18 + 2 + j] = xi0 | (xi1 << 4);
    }
  }
}

/** quantize_row_q4_1_ref. */
function q4_1(x: Float32Array, out: Uint8Array): void {
  for (let i = 0; i < x.length / 32; i++) {
    const [min, max] = minMax(x, i * 32, 32);
    const d = f(f(max - min) / 15);
    const id = d ? f(1 / d) : 0;
    putHalf(out, i * 20, fp32ToFp16(d));
    putHalf(out, i * 20 + 2, fp32ToFp16(min));
    for (let j = 0; j < 16; j++) {
      const xi0 = Math.min(15, Math.trunc(f(f(f(x[i * 32 + j] - min) * id) + 0.5)));
      const xi1 = Math.min(15, Math.trunc(f(f(f(x[i * 32 + 16 + j] - min) * id) + 0.5)));
      out[i * 20 + 4 + j] = xi0 | (xi1 << 4);
    }
  }
}

/** quantize_row_q5_0_ref / q5_1_ref's packing: low nibbles as Q4_x, fifth bit of value j at bit j of qh (u32 LE). */
function put5(out: Uint8Array, qhAt: number, qsAt: number, codes: number[]): void {
  let qh = 0;
  for (let j = 0; j < 16; j++) {
    out[qsAt + j] = (codes[j] & 15) | ((codes[j + 16] & 15) << 4);
    qh |= ((codes[j] >> 4) << j) | ((codes[j + 16] >> 4) << (j + 16));
  }
  for (let b = 0; b < 4; b++) out[qhAt + b] = (qh >>> (8 * b)) & 255;
}

/** quantize_row_q5_0_ref. */
function q5_0(x: Float32Array, out: Uint8Array): void {
  const codes = new Array<number>(32);
  for (let i = 0; i < x.length / 32; i++) {
    const d = f(signedMax(x, i * 32, 32) / -16);
    const id = d ? f(1 / d) : 0;
    putHalf(out, i * 22, fp32ToFp16(d));
    for (let j = 0; j < 32; j++) codes[j] = Math.min(31, Math.trunc(f(f(x[i * 32 + j] * id) + 16.5)));
    put5(out, i * 22 + 2, i * 22 + 6, codes);
  }
}

/** quantize_row_q5_1_ref (codes clamped to 31, which the reference's rounding never exceeds). */
function q5_1(x: Float32Array, out: Uint8Array): void {
  const codes = new Array<number>(32);
  for (let i = 0; i < x.length / 32; i++) {
    const [min, max] = minMax(x, i * 32, 32);
    const d = f(f(max - min) / 31);
    const id = d ? f(1 / d) : 0;
    putHalf(out, i * 24, fp32ToFp16(d));
    putHalf(out, i * 24 + 2, fp32ToFp16(min));
    for (let j = 0; j < 32; j++) codes[j] = Math.min(31, Math.trunc(f(f(f(x[i * 32 + j] - min) * id) + 0.5)));
    put5(out, i * 24 + 4, i * 24 + 8, codes);
  }
}

/**
 * Q4_K / Q5_K: y = d·sc · q − dmin·m per 32-value sub-block, sc and m 6-bit. Simple choice: the sub-block's range
 * [min(0, lo), hi] over 2^bits − 1 steps; returns the codes and writes d, dmin and the packed scales (the packing
 * of quantize_row_q4_K_ref, which get_scale_min_k4 undoes).
 */
function kSuperBlock(x: Float32Array, start: number, levels: number, out: Uint8Array, o: number, codes: Uint8Array): void {
  const steps = new Float64Array(8), mins = new Float64Array(8);
  for (let s = 0; s < 8; s++) {
    let [lo, hi] = minMax(x, start + 32 * s, 32);
    if (lo > 0) lo = 0;
    if (hi < lo) hi = lo;
    steps[s] = (hi - lo) / levels;
    mins[s] = -lo;
  }
  const dh = fp32ToFp16(Math.max(...steps) / 63), dminh = fp32ToFp16(Math.max(...mins) / 63);
  putHalf(out, o, dh);
  putHalf(out, o + 2, dminh);
  const d = fp16ToNumber(dh), dmin = fp16ToNumber(dminh);
  for (let s = 0; s < 8; s++) {
    // Round the scale up so the sub-block's top still fits in `levels` steps; the min to nearest.
    const ls = d > 0 ? Math.min(63, Math.ceil(steps[s] / d - 1e-9)) : 0;
    const lm = dmin > 0 ? Math.min(63, Math.round(mins[s] / dmin)) : 0;
    if (s < 4) { out[o + 4 + s] = ls; out[o + 4 + s + 4] = lm; }
    else {
      out[o + 4 + s + 4] = (ls & 15) | ((lm & 15) << 4);
      out[o + 4 + s - 4] |= (ls >> 4) << 6;
      out[o + 4 + s] |= (lm >> 4) << 6;
    }
    const step = d * ls, offset = dmin * lm;
    for (let j = 0; j < 32; j++) {
      const v = x[start + 32 * s + j];
      codes[32 * s + j] = step > 0 ? Math.max(0, Math.min(levels, Math.round((v + offset) / step))) : 0;
    }
  }
}

function q4_K(x: Float32Array, out: Uint8Array): void {
  const codes = new Uint8Array(256);
  for (let i = 0; i < x.length / 256; i++) {
    const o = i * 144;
    kSuperBlock(x, i * 256, 15, out, o, codes);
    // Chunk c of 64 values: 32 bytes, sub-block 2c in the low nibbles, 2c+1 in the high.
    for (let c = 0; c < 4; c++) for (let l = 0; l < 32; l++) out[o + 16 + 32 * c + l] = codes[64 * c + l] | (codes[64 * c + 32 + l] << 4);
  }
}

function q5_K(x: Float32Array, out: Uint8Array): void {
  const codes = new Uint8Array(256);
  for (let i = 0; i < x.length / 256; i++) {
    const o = i * 176;
    kSuperBlock(x, i * 256, 31, out, o, codes);
    for (let c = 0; c < 4; c++)
      for (let l = 0; l < 32; l++) {
        const a = codes[64 * c + l], b = codes[64 * c + 32 + l];
        out[o + 48 + 32 * c + l] = (a & 15) | ((b & 15) << 4);
        out[o + 16 + l] |= ((a >> 4) << (2 * c)) | ((b >> 4) << (2 * c + 1));
      }
  }
}

/** Q6_K: y = d · sc · (q − 32) per 16-value sub-block, sc int8; signed absmax per sub-block, as Q4_0 picks it. */
function q6_K(x: Float32Array, out: Uint8Array): void {
  const codes = new Uint8Array(256);
  const subScales = new Float64Array(16);
  for (let i = 0; i < x.length / 256; i++) {
    const o = i * 210;
    for (let g = 0; g < 16; g++) subScales[g] = signedMax(x, i * 256 + 16 * g, 16) / -32;
    let amax = 0;
    for (const s of subScales) amax = Math.max(amax, Math.abs(s));
    const dh = fp32ToFp16(amax / 127);
    putHalf(out, o + 208, dh);
    const d = fp16ToNumber(dh);
    for (let g = 0; g < 16; g++) {
      const sc = d > 0 ? Math.max(-128, Math.min(127, Math.round(subScales[g] / d))) : 0;
      out[o + 192 + g] = sc & 255;
      const step = d * sc;
      for (let j = 0; j < 16; j++) {
        const q = step !== 0 ? Math.max(-32, Math.min(31, Math.round(x[i * 256 + 16 * g + j] / step))) : 0;
        codes[16 * g + j] = q + 32;
      }
    }
    // Per 128 values: ql[l] = v[l] | v[l+64] << 4, ql[l+32] = v[l+32] | v[l+96] << 4, qh[l] = their high 2-bit pairs.
    for (let n = 0; n < 2; n++)
      for (let l = 0; l < 32; l++) {
        const v = (k: number) => codes[128 * n + k + l];
        out[o + 64 * n + l] = (v(0) & 15) | ((v(64) & 15) << 4);
        out[o + 64 * n + 32 + l] = (v(32) & 15) | ((v(96) & 15) << 4);
        out[o + 128 + 32 * n + l] = (v(0) >> 4) | ((v(32) >> 4) << 2) | ((v(64) >> 4) << 4) | ((v(96) >> 4) << 6);
      }
  }
}

const BLOCK: Record<GgmlTypeName, [values: number, bytes: number]> = {
  F32: [1, 4], F16: [1, 2], BF16: [1, 2], Q8_0: [32, 34], Q4_0: [32, 18], Q4_1: [32, 20], Q5_0: [32, 22],
  Q5_1: [32, 24], Q4_K: [256, 144], Q5_K: [256, 176], Q6_K: [256, 210],
};

/** `values` (length a multiple of the type's block) in the ggml type's on-disk layout. */
export function encodeGgml(type: GgmlTypeName, values: Float32Array): Uint8Array {
  const block = BLOCK[type];
  if (!block) throw new TypeError(`no test encoder for ggml type ${type}`);
  const [blockValues, blockBytes] = block;
  if (values.length % blockValues !== 0) throw new RangeError(`${type}: ${values.length} values is not a whole number of ${blockValues}-value blocks`);
  const out = new Uint8Array((values.length / blockValues) * blockBytes);
  switch (type) {
    case 'F32': out.set(new Uint8Array(Float32Array.from(values).buffer)); break;
    case 'F16': values.forEach((v, i) => putHalf(out, 2 * i, fp32ToFp16(v))); break;
    case 'BF16': values.forEach((v, i) => putHalf(out, 2 * i, fp32ToBf16(v))); break;
    case 'Q8_0': q8_0(values, out); break;
    case 'Q4_0': q4_0(values, out); break;
    case 'Q4_1': q4_1(values, out); break;
    case 'Q5_0': q5_0(values, out); break;
    case 'Q5_1': q5_1(values, out); break;
    case 'Q4_K': q4_K(values, out); break;
    case 'Q5_K': q5_K(values, out); break;
    case 'Q6_K': q6_K(values, out); break;
  }
  return out;
}
