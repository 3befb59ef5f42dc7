import assert from 'node:assert/strict';
import {
  dequantizeGgml,
  GGML_TYPES,
  ggmlBlocksToMatMulNBits,
  ggmlByteLength,
  ggmlTypeByCode,
  requireGgmlType,
  SUPPORTED_GGML_TYPES,
  type GgmlTypeName,
} from '../../src/core/gguf/ggmlTypes';
import { dequantizeRows, GGML_BLOCK, quantizedShapes } from '../../src/core/model/quantize';
import { encodeGgml, fp32ToFp16 } from '../helpers/ggmlEncode';

/** Float32 bit patterns, so -0, subnormals and NaN payloads compare exactly. */
const bits = (values: Float32Array) => Array.from(new Uint32Array(values.buffer, values.byteOffset, values.length));

/** A deterministic generator (mulberry32), so failures reproduce. */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
function randomBytes(n: number, seed: number): Uint8Array {
  const next = rng(seed);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(next() * 256);
  return out;
}
function gaussian(n: number, seed: number, scale = 1): Float32Array {
  const next = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = scale * Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
  return out;
}

/** IEEE binary16 → number by its definition (independent of the module's bit table). */
function half(h: number): number {
  const e = (h >> 10) & 31, m = h & 1023, s = h & 0x8000 ? -1 : 1;
  if (e === 31) return m ? NaN : s * Infinity;
  return e === 0 ? s * m * 2 ** -24 : s * (1 + m / 1024) * 2 ** (e - 15);
}

/** Offsets of every f16 field inside one block of each type (ggml-common.h), so random bytes can be kept finite. */
const HALF_FIELDS: Record<GgmlTypeName, number[]> = {
  F32: [], BF16: [], F16: [0], Q8_0: [0], Q4_0: [0], Q4_1: [0, 2], Q5_0: [0], Q5_1: [0, 2], Q4_K: [0, 2], Q5_K: [0, 2], Q6_K: [208],
};
/** Clears the top exponent bit of every f16 field (|value| < 2, never NaN/Inf); F32/BF16 get their exponent capped. */
function finite(type: GgmlTypeName, bytes: Uint8Array): Uint8Array {
  const t = GGML_TYPES[type];
  for (let o = 0; o < bytes.length; o += t.blockBytes) {
    for (const field of HALF_FIELDS[type]) bytes[o + field + 1] &= 0xbf;
    if (type === 'F32') bytes[o + 3] &= 0xbf;
    if (type === 'BF16') bytes[o + 1] &= 0xbf;
  }
  return bytes;
}

/**
 * ggml's dequantize_row_* (ggml-quants.c) written element by element from the C code and the block structs of
 * ggml-common.h, with a DataView and no shared code. C computes in float32; each expression below is exact in
 * float64 before its last operation, so Math.fround of it is the float32 C stores.
 */
function reference(type: GgmlTypeName, bytes: Uint8Array, n: number): Float32Array {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const h = (o: number) => half(v.getUint16(o, true));
  const out = new Float32Array(n);
  const { blockValues: qk, blockBytes: size } = GGML_TYPES[type];
  for (let i = 0; i < n / qk; i++) {
    const x = i * size;
    const y = i * qk;
    switch (type) {
      case 'F32': out[i] = v.getFloat32(x, true); break;
      case 'F16': out[i] = h(x); break;
      case 'BF16': out[i] = new Float32Array(new Uint32Array([v.getUint16(x, true) << 16]).buffer)[0]; break;
      case 'Q8_0': // { d; qs[32] }: y[j] = qs[j]*d
        for (let j = 0; j < 32; j++) out[y + j] = v.getInt8(x + 2 + j) * h(x);
        break;
      case 'Q4_0': // { d; qs[16] }: x0 = (qs[j] & 0x0F) - 8, x1 = (qs[j] >> 4) - 8
        for (let j = 0; j < 16; j++) {
          out[y + j] = ((v.getUint8(x + 2 + j) & 0x0f) - 8) * h(x);
          out[y + j + 16] = ((v.getUint8(x + 2 + j) >> 4) - 8) * h(x);
        }
        break;
      case 'Q4_1': // { d; m; qs[16] }: x0*d + m
        for (let j = 0; j < 16; j++) {
          out[y + j] = (v.getUint8(x + 4 + j) & 0x0f) * h(x) + h(x + 2);
          out[y + j + 16] = (v.getUint8(x + 4 + j) >> 4) * h(x) + h(x + 2);
        }
        break;
      case 'Q5_0': case 'Q5_1': { // { d; [m;] qh[4]; qs[16] }: xh_0 = ((qh >> j) << 4) & 0x10, xh_1 = (qh >> (j + 12)) & 0x10
        const hasMin = type === 'Q5_1';
        const qh = v.getUint32(x + (hasMin ? 4 : 2), true);
        const qs = x + (hasMin ? 8 : 6);
        for (let j = 0; j < 16; j++) {
          const x0 = (v.getUint8(qs + j) & 0x0f) | (((qh >>> j) << 4) & 0x10);
          const x1 = (v.getUint8(qs + j) >> 4) | ((qh >>> (j + 12)) & 0x10);
          out[y + j] = hasMin ? x0 * h(x) + h(x + 2) : (x0 - 16) * h(x);
          out[y + j + 16] = hasMin ? x1 * h(x) + h(x + 2) : (x1 - 16) * h(x);
        }
        break;
      }
      case 'Q4_K': case 'Q5_K': { // { d; dmin; scales[12]; [qh[32];] qs[128] }
        const five = type === 'Q5_K';
        const q = (k: number) => v.getUint8(x + 4 + k); // scales[k]
        const scaleMin = (j: number): [number, number] => j < 4 ? [q(j) & 63, q(j + 4) & 63] : [(q(j + 4) & 0xf) | ((q(j - 4) >> 6) << 4), (q(j + 4) >> 4) | ((q(j) >> 6) << 4)];
        const qs = x + (five ? 48 : 16);
        for (let j = 0, is = 0; j < 256; j += 64, is += 2) {
          const [sc1, m1] = scaleMin(is), [sc2, m2] = scaleMin(is + 1);
          const u1 = 1 << is, u2 = 2 << is;
          for (let l = 0; l < 32; l++) {
            const ql = v.getUint8(qs + j / 2 + l);
            const qh = five ? v.getUint8(x + 16 + l) : 0;
            out[y + j + l] = h(x) * sc1 * ((ql & 0xf) + (qh & u1 ? 16 : 0)) - h(x + 2) * m1;
            out[y + j + 32 + l] = h(x) * sc2 * ((ql >> 4) + (qh & u2 ? 16 : 0)) - h(x + 2) * m2;
          }
        }
        break;
      }
      case 'Q6_K': { // { ql[128]; qh[64]; scales[16] (int8); d }
        const d = h(x + 208);
        for (let nn = 0; nn < 2; nn++) {
          const ql = x + 64 * nn, qh = x + 128 + 32 * nn, sc = x + 192 + 8 * nn;
          for (let l = 0; l < 32; l++) {
            const is = Math.floor(l / 16);
            const L = (k: number) => v.getUint8(ql + k), H = v.getUint8(qh + l), S = (k: number) => v.getInt8(sc + k);
            const q1 = ((L(l) & 0xf) | (((H >> 0) & 3) << 4)) - 32;
            const q2 = ((L(l + 32) & 0xf) | (((H >> 2) & 3) << 4)) - 32;
            const q3 = ((L(l) >> 4) | (((H >> 4) & 3) << 4)) - 32;
            const q4 = ((L(l + 32) >> 4) | (((H >> 6) & 3) << 4)) - 32;
            out[y + 128 * nn + l] = d * S(is) * q1;
            out[y + 128 * nn + l + 32] = d * S(is + 2) * q2;
            out[y + 128 * nn + l + 64] = d * S(is + 4) * q3;
            out[y + 128 * nn + l + 96] = d * S(is + 6) * q4;
          }
        }
        break;
      }
    }
  }
  return out;
}

/** Blocks of a type, byte by byte, from fields. */
function block(size: number, fields: [offset: number, bytes: number[]][]): Uint8Array {
  const out = new Uint8Array(size);
  for (const [offset, bytes] of fields) out.set(bytes, offset);
  return out;
}
const le16 = (h: number) => [h & 255, h >> 8];
const range = (n: number, fn: (i: number) => number) => Array.from({ length: n }, (_, i) => fn(i));
const F16_ONE = 0x3c00, F16_HALF = 0x3800, F16_QUARTER = 0x3400, F16_MINUS_TWO = 0xc000;

describe('ggml tensor types', () => {
  describe('type table', () => {
    it('finds each supported type by its ggml code and refuses the others', () => {
      assert.deepEqual([...SUPPORTED_GGML_TYPES].sort(), Object.keys(GGML_TYPES).sort());
      for (const name of SUPPORTED_GGML_TYPES) {
        assert.equal(ggmlTypeByCode(GGML_TYPES[name].code), GGML_TYPES[name]);
        assert.equal(requireGgmlType(GGML_TYPES[name].code), GGML_TYPES[name]);
      }
      for (const code of [4, 5, 9, 10, 11, 15, 16, 23, 28, 31, 39, 99, -1]) assert.equal(ggmlTypeByCode(code), undefined, `code ${code}`);
      assert.throws(() => requireGgmlType(10), (e: Error) => e instanceof TypeError && /Q2_K \(code 10\)/.test(e.message) && e.message.includes(SUPPORTED_GGML_TYPES.join(', ')));
      assert.throws(() => requireGgmlType(77), /code 77 is not supported; supported: F32, F16, BF16, Q8_0/);
    });

    it('gives byte lengths of whole blocks and refuses partial ones', () => {
      assert.equal(ggmlByteLength('F32', 3), 12);
      assert.equal(ggmlByteLength('BF16', 3), 6);
      assert.equal(ggmlByteLength('Q8_0', 64), 68);
      assert.equal(ggmlByteLength('Q4_0', 4096), 128 * 18);
      assert.equal(ggmlByteLength('Q4_K', 512), 288);
      assert.equal(ggmlByteLength('Q6_K', 256 * 11008), 11008 * 210);
      assert.equal(ggmlByteLength('Q5_K', 0), 0);
      // 7B-scale tensors pass 2^32 values without losing precision.
      assert.equal(ggmlByteLength('Q4_K', 256 * 2 ** 25), 144 * 2 ** 25);
      assert.throws(() => ggmlByteLength('Q4_K', 100), RangeError);
      assert.throws(() => ggmlByteLength('Q8_0', 33), /Q8_0: 33 values is not a whole number of 32-value blocks/);
      assert.throws(() => ggmlByteLength('F16', -2), RangeError);
      assert.throws(() => ggmlByteLength('F16', 1.5), RangeError);
      assert.throws(() => ggmlByteLength('Q2_K' as GgmlTypeName, 256), (e: Error) => e instanceof TypeError && e.message.includes('"Q2_K"') && e.message.includes('Q4_K, Q5_K, Q6_K'));
    });
  });

  describe('hand-built blocks', () => {
    const check = (type: GgmlTypeName, bytes: Uint8Array, expected: number[]) => {
      const got = dequantizeGgml(type, bytes, expected.length);
      assert.deepEqual(bits(got), bits(Float32Array.from(expected)), type);
      assert.deepEqual(bits(got), bits(reference(type, bytes, expected.length)), `${type} reference`);
    };

    it('F32, F16 (normal, subnormal, ±0, ±Inf, NaN) and BF16', () => {
      check('F32', new Uint8Array(Float32Array.from([1.5, -0, 3e-40]).buffer), [1.5, -0, 3e-40]);
      const halves = [0x3c00, 0xc000, 0x3555, 0x7bff, 0x0001, 0x03ff, 0x0400, 0x8000, 0x0000, 0x7c00, 0xfc00];
      const values = [1, -2, 0.333251953125, 65504, 2 ** -24, 1023 * 2 ** -24, 2 ** -14, -0, 0, Infinity, -Infinity];
      check('F16', Uint8Array.from(halves.flatMap(le16)), values);
      const nan = dequantizeGgml('F16', Uint8Array.from(le16(0x7e01)), 1);
      assert.ok(Number.isNaN(nan[0]));
      // bf16 is the top half of the float32: 0x3fc0 → 1.5, 0xc049 → -3.140625, 0x0001 → the float32 subnormal 2^-133.
      check('BF16', Uint8Array.from([0x3fc0, 0xc049, 0x0001, 0x8000].flatMap(le16)), [1.5, -3.140625, 2 ** -133, -0]);
    });

    it('Q8_0: d then 32 int8 codes', () => {
      const qs = range(32, (j) => j * 8 - 128); // -128 … 120
      check('Q8_0', block(34, [[0, le16(F16_QUARTER)], [2, qs.map((q) => q & 255)]]), qs.map((q) => q * 0.25));
    });

    it('Q4_0: value j in the low nibble of qs[j], value j+16 in its high nibble, minus 8', () => {
      const qs = range(16, (j) => j | ((15 - j) << 4));
      const expected = [...range(16, (j) => (j - 8) * -2), ...range(16, (j) => (15 - j - 8) * -2)];
      check('Q4_0', block(18, [[0, le16(F16_MINUS_TWO)], [2, qs]]), expected);
    });

    it('Q4_1: nibble · d + m', () => {
      const qs = range(16, (j) => ((j * 3) & 15) | (j << 4));
      const expected = [...range(16, (j) => ((j * 3) & 15) * 0.5 + 1), ...range(16, (j) => j * 0.5 + 1)];
      check('Q4_1', block(20, [[0, le16(F16_HALF)], [2, le16(F16_ONE)], [4, qs]]), expected);
    });

    it('Q5_0 and Q5_1: the fifth bit of value j is bit j of the little-endian qh', () => {
      const qh = 0xa5c3f00f; // bits for values 0-31
      const qhBytes = [0, 1, 2, 3].map((b) => (qh >>> (8 * b)) & 255);
      const qs = range(16, (j) => (j & 15) | (((j * 7) & 15) << 4));
      const code = (i: number) => (i < 16 ? i : (((i - 16) * 7) & 15)) | (((qh >>> i) & 1) << 4);
      check('Q5_0', block(22, [[0, le16(F16_HALF)], [2, qhBytes], [6, qs]]), range(32, (i) => (code(i) - 16) * 0.5));
      check('Q5_1', block(24, [[0, le16(F16_HALF)], [2, le16(F16_MINUS_TWO)], [4, qhBytes], [8, qs]]), range(32, (i) => code(i) * 0.5 - 2));
    });

    /**
     * Q4_K / Q5_K scales: quantize_row_q4_K_ref's packing of eight 6-bit scales `ls` and mins `lm` into 12 bytes
     * (j < 4: scales[j] = ls, scales[j+4] = lm; j ≥ 4: low nibbles in scales[j+4], high 2 bits in the top of
     * scales[j-4] / scales[j]), built here from the writer's side.
     */
    const packScales = (ls: number[], lm: number[]) => {
      const s = new Array<number>(12).fill(0);
      for (let j = 0; j < 8; j++) {
        if (j < 4) { s[j] = ls[j]; s[j + 4] = lm[j]; }
        else { s[j + 4] = (ls[j] & 15) | ((lm[j] & 15) << 4); s[j - 4] |= (ls[j] >> 4) << 6; s[j] |= (lm[j] >> 4) << 6; }
      }
      return s;
    };
    const ls = [1, 63, 17, 40, 33, 50, 2, 63];
    const lm = [0, 5, 63, 31, 48, 16, 62, 1];

    it('Q4_K: 8 sub-blocks of 32 with 6-bit scales and mins; 64 values share 32 bytes (low nibbles, then high)', () => {
      const qs = range(128, (i) => ((i * 5) & 15) | (((i * 11 + 3) & 15) << 4));
      const expected = range(256, (e) => {
        const c = Math.floor(e / 64), l = e % 32, high = e % 64 >= 32, sub = 2 * c + (high ? 1 : 0);
        const byte = qs[32 * c + l];
        return 0.5 * ls[sub] * (high ? byte >> 4 : byte & 15) - 0.25 * lm[sub];
      });
      check('Q4_K', block(144, [[0, le16(F16_HALF)], [2, le16(F16_QUARTER)], [4, packScales(ls, lm)], [16, qs]]), expected);
    });

    it('Q5_K: Q4_K plus qh, bit 2c / 2c+1 of qh[l] for chunk c', () => {
      const qs = range(128, (i) => ((i * 9) & 15) | (((i * 13 + 1) & 15) << 4));
      const qh = range(32, (l) => (l * 37 + 11) & 255);
      const expected = range(256, (e) => {
        const c = Math.floor(e / 64), l = e % 32, high = e % 64 >= 32, sub = 2 * c + (high ? 1 : 0);
        const byte = qs[32 * c + l];
        const code = (high ? byte >> 4 : byte & 15) + 16 * ((qh[l] >> sub) & 1);
        return 0.5 * ls[sub] * code - 0.25 * lm[sub];
      });
      check('Q5_K', block(176, [[0, le16(F16_HALF)], [2, le16(F16_QUARTER)], [4, packScales(ls, lm)], [16, qh], [48, qs]]), expected);
    });

    it('Q6_K: ql, qh, int8 scales per 16 values, then d; codes minus 32', () => {
      const ql = range(128, (i) => (i * 29 + 7) & 255);
      const qh = range(64, (i) => (i * 53 + 5) & 255);
      const sc = range(16, (g) => (g * 37 - 100) | 0); // -100 … 455 → wrapped to int8 below
      const sc8 = sc.map((s) => ((s & 255) << 24) >> 24);
      // Value e: half n = e / 128, quarter t = (e % 128) / 32, position l = e % 32; low 4 bits from ql[64n + l + 32(t & 1)]
      // (low nibble for t < 2), high 2 bits from qh[32n + l] at bit 2t; scale group e / 16.
      const expected = range(256, (e) => {
        const n = Math.floor(e / 128), t = Math.floor((e % 128) / 32), l = e % 32;
        const low = ql[64 * n + l + 32 * (t & 1)];
        const code = (t < 2 ? low & 15 : low >> 4) | (((qh[32 * n + l] >> (2 * t)) & 3) << 4);
        return Math.fround(0.25 * sc8[Math.floor(e / 16)] * (code - 32));
      });
      check('Q6_K', block(210, [[0, ql], [128, qh], [192, sc8.map((s) => s & 255)], [208, le16(F16_QUARTER)]]), expected);
    });
  });

  describe('random blocks', () => {
    it('decode exactly as the element-by-element reference, at any byte and output offset', () => {
      for (const [seed, type] of SUPPORTED_GGML_TYPES.entries()) {
        const n = 8 * 256;
        const bytes = finite(type, randomBytes(ggmlByteLength(type, n), 1000 + seed));
        const want = bits(reference(type, bytes, n));
        assert.deepEqual(bits(dequantizeGgml(type, bytes, n)), want, type);
        // An odd byte offset and an output inside a larger array.
        const shifted = new Uint8Array(bytes.length + 1).subarray(1);
        shifted.set(bytes);
        const big = new Float32Array(n + 8).fill(7);
        const got = dequantizeGgml(type, shifted, n, big.subarray(3));
        assert.equal(got.length, n + 5);
        assert.deepEqual(bits(got.subarray(0, n)), want, `${type} shifted`);
        assert.deepEqual([...big.subarray(0, 3), ...big.subarray(n + 3)], [7, 7, 7, 7, 7, 7, 7, 7], `${type} writes only its values`);
      }
    });

    it('F16 with every bit pattern decodes as IEEE binary16 (NaN as NaN)', () => {
      const all = Uint8Array.from(range(65536, (h) => h).flatMap(le16));
      const got = dequantizeGgml('F16', all, 65536);
      for (let h = 0; h < 65536; h++) {
        const want = half(h);
        if (Number.isNaN(want)) assert.ok(Number.isNaN(got[h]), `0x${h.toString(16)}`);
        else assert.ok(Object.is(got[h], want), `0x${h.toString(16)}: ${got[h]} vs ${want}`);
      }
    });

    it('encode → decode stays within each type\'s error (table printed)', () => {
      const n = 64 * 256;
      const values = gaussian(n, 7, 0.02);
      // Outliers, as real weights have, and a constant block and a zero block.
      for (let i = 0; i < n; i += 997) values[i] *= 12;
      values.fill(0.0125, 512, 768);
      values.fill(0, 768, 1024);
      const rows: { type: string; maxAbs: string; rmsRel: string }[] = [];
      const rmsBound: Record<GgmlTypeName, number> = { F32: 0, F16: 4e-4, BF16: 3e-3, Q8_0: 0.01, Q4_0: 0.15, Q4_1: 0.12, Q5_0: 0.075, Q5_1: 0.06, Q4_K: 0.12, Q5_K: 0.06, Q6_K: 0.03 };
      for (const type of SUPPORTED_GGML_TYPES) {
        const bytes = encodeGgml(type, values);
        assert.equal(bytes.length, ggmlByteLength(type, n), type);
        const back = dequantizeGgml(type, bytes, n);
        let maxAbs = 0, se = 0, ss = 0;
        for (let i = 0; i < n; i++) {
          const e = Math.abs(back[i] - values[i]);
          maxAbs = Math.max(maxAbs, e);
          se += e * e;
          ss += values[i] * values[i];
        }
        const rmsRel = Math.sqrt(se / ss);
        rows.push({ type, maxAbs: maxAbs.toExponential(2), rmsRel: rmsRel.toExponential(2) });
        assert.ok(rmsRel <= rmsBound[type], `${type}: rms relative error ${rmsRel}`);
        // The constant block and the zero block come back (nearly) exactly.
        for (let i = 768; i < 1024; i++) assert.ok(back[i] === 0, `${type} zero block: ${back[i]}`); // ±0 (Q4_0's d = 0 / -8 is -0)
        for (let i = 512; i < 768; i++) assert.ok(Math.abs(back[i] - 0.0125) <= 0.0125 * 0.04, `${type} constant block: ${back[i]}`);
      }
      console.table(rows);
    });

    it('Q8_0 and Q4_0 encoders stay within half a step (ggml reference rounding) of each block\'s f16 scale', () => {
      const values = gaussian(32 * 200, 11);
      for (const type of ['Q8_0', 'Q4_0'] as const) {
        const bytes = encodeGgml(type, values);
        const back = dequantizeGgml(type, bytes, values.length);
        const size = GGML_TYPES[type].blockBytes;
        for (let b = 0; b < 200; b++) {
          const d = Math.abs(half(bytes[b * size] | (bytes[b * size + 1] << 8)));
          // Codes are chosen with the float32 d, decoded with its f16 rounding (≤ 2^-11 relative, times ≤ 128 codes);
          // Q4_0's positive extreme (when the negative one sets d) clamps to code 15, up to a whole step away.
          const bound = (type === 'Q8_0' ? 0.5 : 1) * d + 128 * d * 2 ** -11;
          for (let j = 0; j < 32; j++) assert.ok(Math.abs(back[b * 32 + j] - values[b * 32 + j]) <= bound, `${type} block ${b}`);
        }
      }
    });

    it('F16 and BF16 encoders round to nearest even, as ggml_compute_fp32_to_fp16 / _bf16', () => {
      assert.equal(fp32ToFp16(1), 0x3c00);
      assert.equal(fp32ToFp16(1 + 2 ** -11), 0x3c00); // tie → even
      assert.equal(fp32ToFp16(1 + 3 * 2 ** -11), 0x3c02); // tie → even (up)
      assert.equal(fp32ToFp16(65520), 0x7c00); // overflow → Inf
      assert.equal(fp32ToFp16(2 ** -25), 0x0000); // tie at the bottom → 0
      assert.equal(fp32ToFp16(3 * 2 ** -25), 0x0002);
      assert.equal(fp32ToFp16(NaN), 0x7e00);
      const v = Float32Array.from([1 + 2 ** -8, 1 + 3 * 2 ** -8, -0.1]);
      assert.deepEqual(bits(dequantizeGgml('BF16', encodeGgml('BF16', v), 3)), bits(Float32Array.from([1, 1 + 2 ** -6, -0.10009765625])));
    });
  });

  describe('MatMulNBits form of Q8_0 and Q4_0', () => {
    for (const type of ['Q8_0', 'Q4_0'] as const) {
      it(`${type} is bit-exact with dequantizeGgml over several rows`, () => {
        const bitsN = type === 'Q8_0' ? 8 : 4;
        for (const [rows, k, source] of [[7, 96, 'random bytes'], [3, 32, 'random bytes'], [5, 256, 'encoded weights']] as const) {
          const bytes = source === 'random bytes'
            ? finite(type, randomBytes(ggmlByteLength(type, rows * k), rows * k))
            : encodeGgml(type, gaussian(rows * k, 3, 0.05));
          const { blocks, blobBytes } = quantizedShapes(rows, k, bitsN, GGML_BLOCK);
          const packed = new Uint8Array(rows * blocks * blobBytes);
          const scales = new Float32Array(rows * blocks);
          ggmlBlocksToMatMulNBits(type, bytes, rows, k, packed, scales);
          assert.deepEqual(bits(dequantizeRows(packed, scales, rows, k, bitsN, GGML_BLOCK)), bits(dequantizeGgml(type, bytes, rows * k)), `${type} ${rows}×${k} ${source}`);
          // The scale is the block's f16 d, exactly.
          assert.equal(scales[1], half(bytes[GGML_TYPES[type].blockBytes] | (bytes[GGML_TYPES[type].blockBytes + 1] << 8)));
        }
      });
    }

    it('refuses other types and mismatched sizes', () => {
      const bytes = new Uint8Array(2 * 34);
      const packed = new Uint8Array(64), scales = new Float32Array(2);
      assert.throws(() => ggmlBlocksToMatMulNBits('Q4_K' as 'Q4_0', new Uint8Array(144), 1, 256, packed, scales), /Q4_K.*only Q8_0 and Q4_0/);
      assert.throws(() => ggmlBlocksToMatMulNBits('Q8_0', bytes, 1, 48, packed, scales), RangeError);
      assert.throws(() => ggmlBlocksToMatMulNBits('Q8_0', bytes.subarray(1), 1, 64, packed, scales), /take 68 bytes, got 67/);
      assert.throws(() => ggmlBlocksToMatMulNBits('Q8_0', bytes, 1, 64, packed.subarray(1), scales), /packed holds 63 bytes, 64 needed/);
      assert.throws(() => ggmlBlocksToMatMulNBits('Q8_0', bytes, 1, 64, packed, scales.subarray(1)), /scales holds 1 floats, 2 needed/);
      assert.doesNotThrow(() => ggmlBlocksToMatMulNBits('Q8_0', bytes, 1, 64, packed, scales));
    });
  });

  describe('errors', () => {
    it('refuses wrong byte lengths, partial blocks, short outputs and unsupported types', () => {
      assert.throws(() => dequantizeGgml('Q4_K', new Uint8Array(143), 256), /Q4_K: 256 values take 144 bytes, got 143/);
      assert.throws(() => dequantizeGgml('Q8_0', new Uint8Array(35), 32), RangeError);
      assert.throws(() => dequantizeGgml('F16', new Uint8Array(4), 1), RangeError);
      assert.throws(() => dequantizeGgml('Q6_K', new Uint8Array(210), 128), /not a whole number of 256-value blocks/);
      assert.throws(() => dequantizeGgml('Q4_0', new Uint8Array(18), 32, new Float32Array(31)), /output holds 31 floats, 32 needed/);
      for (const name of ['Q2_K', 'IQ4_XS', 'q4_0', 'toString', '']) {
        assert.throws(
          () => dequantizeGgml(name as GgmlTypeName, new Uint8Array(0), 0),
          (e: Error) => e instanceof TypeError && e.message.includes(JSON.stringify(name)) && e.message.includes(`supported: ${SUPPORTED_GGML_TYPES.join(', ')}`),
          name,
        );
      }
      assert.throws(() => encodeGgml('Q2_K' as GgmlTypeName, new Float32Array(256)), TypeError);
      assert.throws(() => encodeGgml('Q4_K', new Float32Array(100)), RangeError);
    });
  });
});
