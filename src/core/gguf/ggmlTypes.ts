/**
 * ggml tensor types: their on-disk codes, block layouts (ggml `ggml.h` / `ggml-common.h`) and decoders to float32
 * that reproduce ggml's reference `dequantize_row_*` (ggml `src/ggml-quants.c`) exactly, plus the exact re-layout of
 * Q8_0 / Q4_0 blocks into onnxruntime's MatMulNBits form (see `../model/quantize.ts`).
 *
 * Exactness. ggml computes in float32; we compute in float64 and round once, when the value is stored into the
 * Float32Array. That is the same result because every intermediate ggml forms is exact in float32: an f16 scale has
 * 11 significant bits, the K-quant 6-bit (Q4_K/Q5_K) or int8 (Q6_K) sub-scales add at most 8, so `d · sc` is exact;
 * for Q4_K/Q5_K `d · sc · q` (q ≤ 5 bits) is still exact in float32, and the only rounding ggml does is the final
 * subtraction of the min (Q4_1/Q5_1/Q4_K/Q5_K) or the final multiply by q (Q6_K): one rounding of a value that
 * float64 holds exactly (the terms lie between 2^-24, f16's least step, and 2^27, so their exact sum needs at most
 * 52 bits). Hence no Math.fround anywhere, and ggml's possible FMA contraction changes nothing either. Checked
 * bit for bit against gguf-py's numpy dequantizers (gguf-py/gguf/quants.py) on random blocks.
 *
 * Speed. A 7B Q4_K_M model is ~7e9 values decoded here while a cache is prepared, so the hot loops read Uint8Array
 * bytes only (no DataView, no per-block allocation), f16 scales go through one precomputed 65536-entry table, and
 * float outputs that are pure bit patterns (F16, BF16) are written through a Uint32Array view of `out`.
 */
import { GGML_BLOCK, quantizedShapes } from '../model/quantize';

export type GgmlTypeName = 'F32' | 'F16' | 'Q4_0' | 'Q4_1' | 'Q5_0' | 'Q5_1' | 'Q8_0' | 'Q4_K' | 'Q5_K' | 'Q6_K' | 'BF16';

export interface GgmlType {
  name: GgmlTypeName;
  /** ggml_type enum value. */
  code: number;
  /** Values per block (1 for plain floats). */
  blockValues: number;
  /** Bytes per block. */
  blockBytes: number;
}

export const GGML_TYPES: Record<GgmlTypeName, GgmlType> = {
  F32: { name: 'F32', code: 0, blockValues: 1, blockBytes: 4 },
  F16: { name: 'F16', code: 1, blockValues: 1, blockBytes: 2 },
  Q4_0: { name: 'Q4_0', code: 2, blockValues: 32, blockBytes: 18 },
  Q4_1: { name: 'Q4_1', code: 3, blockValues: 32, blockBytes: 20 },
  Q5_0: { name: 'Q5_0', code: 6, blockValues: 32, blockBytes: 22 },
  Q5_1: { name: 'Q5_1', code: 7, blockValues: 32, blockBytes: 24 },
  Q8_0: { name: 'Q8_0', code: 8, blockValues: 32, blockBytes: 34 },
  Q4_K: { name: 'Q4_K', code: 12, blockValues: 256, blockBytes: 144 },
  Q5_K: { name: 'Q5_K', code: 13, blockValues: 256, blockBytes: 176 },
  Q6_K: { name: 'Q6_K', code: 14, blockValues: 256, blockBytes: 210 },
  BF16: { name: 'BF16', code: 30, blockValues: 1, blockBytes: 2 },
};

/** The types Persona Lens decodes (every entry of GGML_TYPES). */
export const SUPPORTED_GGML_TYPES: GgmlTypeName[] = ['F32', 'F16', 'BF16', 'Q8_0', 'Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q4_K', 'Q5_K', 'Q6_K'];

/** ggml's names for its other type codes (ggml.h `enum ggml_type`), so a refusal says what the file holds. */
const OTHER_GGML_TYPE_NAMES: Record<number, string> = {
  9: 'Q8_1', 10: 'Q2_K', 11: 'Q3_K', 15: 'Q8_K', 16: 'IQ2_XXS', 17: 'IQ2_XS', 18: 'IQ3_XXS', 19: 'IQ1_S', 20: 'IQ4_NL',
  21: 'IQ3_S', 22: 'IQ2_S', 23: 'IQ4_XS', 24: 'I8', 25: 'I16', 26: 'I32', 27: 'I64', 28: 'F64', 29: 'IQ1_M',
  34: 'TQ1_0', 35: 'TQ2_0', 39: 'MXFP4', 40: 'NVFP4', 41: 'Q1_0', 42: 'Q2_0',
};

const BY_CODE = new Map<number, GgmlType>(Object.values(GGML_TYPES).map((type) => [type.code, type]));

export function ggmlTypeByCode(code: number): GgmlType | undefined {
  return BY_CODE.get(code);
}

const supportedList = () => SUPPORTED_GGML_TYPES.join(', ');

/** ggmlTypeByCode that throws, naming ggml's type for the code when it has one. */
export function requireGgmlType(code: number): GgmlType {
  const type = BY_CODE.get(code);
  if (type) return type;
  const name = OTHER_GGML_TYPE_NAMES[code];
  throw new TypeError(`ggml type ${name ? `${name} (code ${code})` : `code ${code}`} is not supported; supported: ${supportedList()}`);
}

function typeOf(name: string): GgmlType {
  if (!Object.prototype.hasOwnProperty.call(GGML_TYPES, name)) throw new TypeError(`ggml type ${JSON.stringify(name)} is not supported; supported: ${supportedList()}`);
  return GGML_TYPES[name as GgmlTypeName];
}

/** Bytes of `values` consecutive values of a type; throws RangeError when values is not a multiple of the block. */
export function ggmlByteLength(type: GgmlTypeName, values: number): number {
  const t = typeOf(type);
  if (!Number.isSafeInteger(values) || values < 0) throw new RangeError(`${t.name}: ${values} is not a valid number of values`);
  if (values % t.blockValues !== 0) throw new RangeError(`${t.name}: ${values} values is not a whole number of ${t.blockValues}-value blocks`);
  return (values / t.blockValues) * t.blockBytes;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

let halfBits: Uint32Array | undefined;
let halfFloats: Float32Array | undefined;

/**
 * f16 → f32 for all 65536 patterns, as ggml_compute_fp16_to_fp32 (ggml-impl.h): exact for normals, subnormals,
 * ±0 and ±Inf; a NaN keeps its payload, shifted into place, with the quiet bit set, as ggml's final float multiply
 * does on x86 and ARM. Built from the bits, not by arithmetic, so it owes nothing to Math.pow.
 */
function halfTables(): { bits: Uint32Array; floats: Float32Array } {
  if (!halfBits || !halfFloats) {
    const bits = new Uint32Array(65536);
    for (let h = 0; h < 65536; h++) {
      const sign = (h & 0x8000) << 16;
      const exponent = (h >> 10) & 31;
      let mantissa = h & 1023;
      if (exponent === 31) bits[h] = sign | 0x7f800000 | (mantissa << 13) | (mantissa ? 0x00400000 : 0);
      else if (exponent !== 0) bits[h] = sign | ((exponent + 112) << 23) | (mantissa << 13);
      else if (mantissa === 0) bits[h] = sign;
      else {
        // Subnormal: m · 2^-24 is a normal float32; shift the leading 1 into the implicit bit.
        let e = 113;
        while ((mantissa & 0x400) === 0) { mantissa <<= 1; e--; }
        bits[h] = sign | (e << 23) | ((mantissa & 1023) << 13);
      }
    }
    halfBits = bits;
    halfFloats = new Float32Array(bits.buffer);
  }
  return { bits: halfBits, floats: halfFloats };
}

/** Scratch for the K-quants' per-sub-block scales and mins: module-level, so no block allocates. */
const scaleScratch = new Float64Array(16);
const minScratch = new Float64Array(8);

/**
 * Decodes `values` values (a whole number of blocks) from `bytes` (ggml layout) into float32. `bytes` must hold
 * exactly ggmlByteLength(type, values) bytes; `out`, when given, at least `values` floats (the first `values` are
 * written and `out` is returned).
 */
export function dequantizeGgml(type: GgmlTypeName, bytes: Uint8Array, values: number, out?: Float32Array): Float32Array {
  const t = typeOf(type);
  const expected = ggmlByteLength(t.name, values);
  if (bytes.length !== expected) throw new RangeError(`${t.name}: ${values} values take ${expected} bytes, got ${bytes.length}`);
  if (out && out.length < values) throw new RangeError(`${t.name}: output holds ${out.length} floats, ${values} needed`);
  const y = out ?? new Float32Array(values);
  const blocks = values / t.blockValues;
  switch (t.name) {
    case 'F32': decodeF32(bytes, values, y); break;
    case 'F16': decodeF16(bytes, values, y); break;
    case 'BF16': decodeBf16(bytes, values, y); break;
    case 'Q8_0': decodeQ8_0(bytes, blocks, y); break;
    case 'Q4_0': decodeQ4_0(bytes, blocks, y); break;
    case 'Q4_1': decodeQ4_1(bytes, blocks, y); break;
    case 'Q5_0': decodeQ5_0(bytes, blocks, y); break;
    case 'Q5_1': decodeQ5_1(bytes, blocks, y); break;
    case 'Q4_K': decodeQ4_K(bytes, blocks, y); break;
    case 'Q5_K': decodeQ5_K(bytes, blocks, y); break;
    case 'Q6_K': decodeQ6_K(bytes, blocks, y); break;
  }
  return y;
}

/** Little-endian float32 bytes: a plain copy on a little-endian host (every VS Code platform). */
function decodeF32(b: Uint8Array, n: number, y: Float32Array): void {
  if (LITTLE_ENDIAN) {
    new Uint8Array(y.buffer, y.byteOffset, n * 4).set(b);
    return;
  }
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (let i = 0; i < n; i++) y[i] = view.getFloat32(i * 4, true);
}

/** ggml_compute_fp16_to_fp32 per value, as a table of bit patterns (NaN payloads survive). */
function decodeF16(b: Uint8Array, n: number, y: Float32Array): void {
  const table = halfTables().bits;
  const y32 = new Uint32Array(y.buffer, y.byteOffset, n);
  for (let i = 0, o = 0; i < n; i++, o += 2) y32[i] = table[b[o] | (b[o + 1] << 8)];
}

/** ggml_compute_bf16_to_fp32: the 16 bits are the top half of the float32. */
function decodeBf16(b: Uint8Array, n: number, y: Float32Array): void {
  const y32 = new Uint32Array(y.buffer, y.byteOffset, n);
  for (let i = 0, o = 0; i < n; i++, o += 2) y32[i] = (b[o] << 16) | (b[o + 1] << 24);
}

/** dequantize_row_q8_0: block_q8_0 { f16 d; int8 qs[32] }, y[j] = qs[j] · d. */
function decodeQ8_0(b: Uint8Array, nb: number, y: Float32Array): void {
  const H = halfTables().floats;
  const s = new Int8Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0, o = 0, w = 0; i < nb; i++, o += 34, w += 32) {
    const d = H[b[o] | (b[o + 1] << 8)];
    const q = o + 2;
    for (let j = 0; j < 32; j++) y[w + j] = s[q + j] * d;
  }
}

/** dequantize_row_q4_0: block_q4_0 { f16 d; u8 qs[16] }, y[j] = (qs[j] & 15 − 8) · d, y[j+16] = (qs[j] >> 4 − 8) · d. */
function decodeQ4_0(b: Uint8Array, nb: number, y: Float32Array): void {
  const H = halfTables().floats;
  for (let i = 0, o = 0, w = 0; i < nb; i++, o += 18, w += 32) {
    const d = H[b[o] | (b[o + 1] << 8)];
    for (let j = 0; j < 16; j++) {
      const q = b[o + 2 + j];
      y[w + j] = ((q & 15) - 8) * d;
      y[w + 16 + j] = ((q >> 4) - 8) * d;
    }
  }
}

/** dequantize_row_q4_1: block_q4_1 { f16 d; f16 m; u8 qs[16] }, y = nibble · d + m (nibbles as Q4_0). */
function decodeQ4_1(b: Uint8Array, nb: number, y: Float32Array): void {
  const H = halfTables().floats;
  for (let i = 0, o = 0, w = 0; i < nb; i++, o += 20, w += 32) {
    const d = H[b[o] | (b[o + 1] << 8)];
    const m = H[b[o + 2] | (b[o + 3] << 8)];
    for (let j = 0; j < 16; j++) {
      const q = b[o + 4 + j];
      y[w + j] = (q & 15) * d + m;
      y[w + 16 + j] = (q >> 4) * d + m;
    }
  }
}

/**
 * dequantize_row_q5_0: block_q5_0 { f16 d; u8 qh[4]; u8 qs[16] }; qh is a little-endian u32 whose bit j is the
 * fifth bit of value j; y = ((nibble | bit << 4) − 16) · d.
 */
function decodeQ5_0(b: Uint8Array, nb: number, y: Float32Array): void {
  const H = halfTables().floats;
  for (let i = 0, o = 0, w = 0; i < nb; i++, o += 22, w += 32) {
    const d = H[b[o] | (b[o + 1] << 8)];
    const qh = b[o + 2] | (b[o + 3] << 8) | (b[o + 4] << 16) | (b[o + 5] << 24);
    for (let j = 0; j < 16; j++) {
      const q = b[o + 6 + j];
      y[w + j] = (((q & 15) | (((qh >>> j) << 4) & 0x10)) - 16) * d;
      y[w + 16 + j] = (((q >> 4) | ((qh >>> (j + 12)) & 0x10)) - 16) * d;
    }
  }
}

/** dequantize_row_q5_1: block_q5_1 { f16 d; f16 m; u8 qh[4]; u8 qs[16] }, y = (nibble | bit << 4) · d + m. */
function decodeQ5_1(b: Uint8Array, nb: number, y: Float32Array): void {
  const H = halfTables().floats;
  for (let i = 0, o = 0, w = 0; i < nb; i++, o += 24, w += 32) {
    const d = H[b[o] | (b[o + 1] << 8)];
    const m = H[b[o + 2] | (b[o + 3] << 8)];
    const qh = b[o + 4] | (b[o + 5] << 8) | (b[o + 6] << 16) | (b[o + 7] << 24);
    for (let j = 0; j < 16; j++) {
      const q = b[o + 8 + j];
      y[w + j] = ((q & 15) | (((qh >>> j) << 4) & 0x10)) * d + m;
      y[w + 16 + j] = ((q >> 4) | ((qh >>> (j + 12)) & 0x10)) * d + m;
    }
  }
}

/**
 * The eight 6-bit scales and mins of a Q4_K / Q5_K super-block (12 bytes at `s`), each multiplied by its f16
 * super-scale, into scaleScratch[0..8) / minScratch[0..8): get_scale_min_k4 of ggml-quants.c.
 */
function kScales(b: Uint8Array, s: number, d: number, dmin: number): void {
  for (let j = 0; j < 4; j++) {
    scaleScratch[j] = d * (b[s + j] & 63);
    minScratch[j] = dmin * (b[s + j + 4] & 63);
  }
  for (let j = 4; j < 8; j++) {
    scaleScratch[j] = d * ((b[s + j + 4] & 15) | ((b[s + j - 4] >> 6) << 4));
    minScratch[j] = dmin * ((b[s + j + 4] >> 4) | ((b[s + j] >> 6) << 4));
  }
}

/**
 * dequantize_row_q4_K: block_q4_K { f16 d; f16 dmin; u8 scales[12]; u8 qs[128] }. Each 64 values are 32 bytes:
 * low nibbles with sub-block 2c's scale/min, then high nibbles with sub-block 2c+1's; y = d·sc · q − dmin·m.
 */
function decodeQ4_K(b: Uint8Array, nb: number, y: Float32Array): void {
  const H = halfTables().floats;
  const sc = scaleScratch;
  const mn = minScratch;
  for (let i = 0, o = 0, w = 0; i < nb; i++, o += 144) {
    kScales(b, o + 4, H[b[o] | (b[o + 1] << 8)], H[b[o + 2] | (b[o + 3] << 8)]);
    for (let c = 0, q = o + 16; c < 4; c++, q += 32, w += 64) {
      const d1 = sc[2 * c], m1 = mn[2 * c], d2 = sc[2 * c + 1], m2 = mn[2 * c + 1];
      for (let l = 0; l < 32; l++) {
        const v = b[q + l];
        y[w + l] = d1 * (v & 15) - m1;
        y[w + 32 + l] = d2 * (v >> 4) - m2;
      }
    }
  }
}

/**
 * dequantize_row_q5_K: block_q5_K { f16 d; f16 dmin; u8 scales[12]; u8 qh[32]; u8 qs[128] }: Q4_K's layout plus a
 * fifth bit, for chunk c bit 2c of qh[l] (low-nibble values) and bit 2c+1 (high-nibble values).
 */
function decodeQ5_K(b: Uint8Array, nb: number, y: Float32Array): void {
  const H = halfTables().floats;
  const sc = scaleScratch;
  const mn = minScratch;
  for (let i = 0, o = 0, w = 0; i < nb; i++, o += 176) {
    kScales(b, o + 4, H[b[o] | (b[o + 1] << 8)], H[b[o + 2] | (b[o + 3] << 8)]);
    const h = o + 16;
    for (let c = 0, q = o + 48; c < 4; c++, q += 32, w += 64) {
      const d1 = sc[2 * c], m1 = mn[2 * c], d2 = sc[2 * c + 1], m2 = mn[2 * c + 1];
      const shift = 2 * c;
      for (let l = 0; l < 32; l++) {
        const v = b[q + l];
        const hi = b[h + l] >> shift;
        y[w + l] = d1 * ((v & 15) | ((hi & 1) << 4)) - m1;
        y[w + 32 + l] = d2 * ((v >> 4) | ((hi & 2) << 3)) - m2;
      }
    }
  }
}

/**
 * dequantize_row_q6_K: block_q6_K { u8 ql[128]; u8 qh[64]; int8 scales[16]; f16 d } (d last). Per 128 values:
 * q = (4 low bits from ql) | (2 high bits from qh) − 32, value l of the four 32-value quarters taking ql[l] low,
 * ql[l+32] low, ql[l] high, ql[l+32] high and qh[l] bits 0-1, 2-3, 4-5, 6-7; y = d · scales[16-value group] · q.
 */
function decodeQ6_K(b: Uint8Array, nb: number, y: Float32Array): void {
  const H = halfTables().floats;
  const ds = scaleScratch;
  for (let i = 0, o = 0, w = 0; i < nb; i++, o += 210) {
    const d = H[b[o + 208] | (b[o + 209] << 8)];
    for (let g = 0; g < 16; g++) ds[g] = d * ((b[o + 192 + g] << 24) >> 24);
    for (let n = 0; n < 2; n++, w += 128) {
      const ql = o + 64 * n;
      const qh = o + 128 + 32 * n;
      const g = 8 * n;
      for (let half = 0; half < 2; half++) {
        const s1 = ds[g + half], s2 = ds[g + half + 2], s3 = ds[g + half + 4], s4 = ds[g + half + 6];
        for (let l = 16 * half, end = l + 16; l < end; l++) {
          const a = b[ql + l];
          const c = b[ql + l + 32];
          const h = b[qh + l];
          y[w + l] = s1 * (((a & 15) | ((h & 3) << 4)) - 32);
          y[w + l + 32] = s2 * (((c & 15) | ((h & 12) << 2)) - 32);
          y[w + l + 64] = s3 * (((a >> 4) | (h & 48)) - 32);
          y[w + l + 96] = s4 * (((c >> 4) | ((h & 192) >> 2)) - 32);
        }
      }
    }
  }
}

/**
 * The exact MatMulNBits form of Q8_0 (bits 8) or Q4_0 (bits 4) rows: ggml's f16 block scale becomes the float32
 * scale, the codes are re-laid out. `rows` rows of `k` values (k a multiple of 32).
 *
 * Both formats are symmetric blocks of 32 with value (code − 2^(bits−1)) · scale, so only the code layout changes:
 * Q8_0's int8 q becomes the uint8 code q + 128 (q ^ 0x80); Q4_0 keeps value j in the low nibble and j+16 in the high
 * nibble of qs[j] (dequantize_row_q4_0), MatMulNBits values 2i and 2i+1 in the low and high nibble of byte i.
 * `bytes` must be exactly rows · k/32 blocks; `packed` and `scales` at least quantizedShapes' sizes.
 */
export function ggmlBlocksToMatMulNBits(type: 'Q8_0' | 'Q4_0', bytes: Uint8Array, rows: number, k: number, packed: Uint8Array, scales: Float32Array): void {
  if (type !== 'Q8_0' && type !== 'Q4_0') throw new TypeError(`ggml type ${JSON.stringify(type)} has no exact MatMulNBits form; only Q8_0 and Q4_0 do`);
  if (!Number.isSafeInteger(rows) || rows < 0 || !Number.isSafeInteger(k) || k < 0 || k % 32 !== 0) throw new RangeError(`${type}: rows ${rows} × k ${k} is not a whole number of 32-value blocks per row`);
  const bits = type === 'Q8_0' ? 8 : 4;
  const { blocks, blobBytes } = quantizedShapes(rows, k, bits, GGML_BLOCK);
  const nb = rows * blocks;
  const blockBytes = GGML_TYPES[type].blockBytes;
  if (bytes.length !== nb * blockBytes) throw new RangeError(`${type}: ${rows} rows of ${k} values take ${nb * blockBytes} bytes, got ${bytes.length}`);
  if (packed.length < nb * blobBytes) throw new RangeError(`${type}: packed holds ${packed.length} bytes, ${nb * blobBytes} needed`);
  if (scales.length < nb) throw new RangeError(`${type}: scales holds ${scales.length} floats, ${nb} needed`);
  const H = halfTables().floats;
  if (bits === 8) {
    for (let i = 0, o = 0, p = 0; i < nb; i++, o += 34, p += 32) {
      scales[i] = H[bytes[o] | (bytes[o + 1] << 8)];
      for (let j = 0; j < 32; j++) packed[p + j] = bytes[o + 2 + j] ^ 0x80;
    }
  } else {
    for (let i = 0, o = 0, p = 0; i < nb; i++, o += 18, p += 16) {
      scales[i] = H[bytes[o] | (bytes[o + 1] << 8)];
      const q = o + 2;
      // Bytes 0-7 pair the low nibbles of qs[2i], qs[2i+1] (values 0-15); bytes 8-15 pair their high nibbles (16-31).
      for (let i2 = 0; i2 < 8; i2++) packed[p + i2] = (bytes[q + 2 * i2] & 15) | ((bytes[q + 2 * i2 + 1] & 15) << 4);
      for (let i2 = 0; i2 < 8; i2++) packed[p + 8 + i2] = (bytes[q + 2 * i2] >> 4) | (bytes[q + 2 * i2 + 1] & 0xf0);
    }
  }
}
