import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkControlVectorFits, exportControlVector, importControlVector } from '../../src/core/vectors/controlVector';
import { GgufError, type GgufValue } from '../../src/core/gguf/ggufFormat';
import { readGgufHeader, readGgufTensorBytes } from '../../src/core/gguf/ggufFile';
import { writeGguf } from '../../src/core/gguf/ggufWriter';

/** The header plus every tensor's float32 data (F32 tensors only, as in these files). */
async function readGguf(file: string) {
  const header = await readGgufHeader(file);
  return {
    ...header,
    tensors: header.tensors.map((t) => {
      const bytes = readGgufTensorBytes(header, t);
      return { ...t, data: new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4) };
    }),
  };
}

/** Float32 bit patterns, so -0, subnormals and NaN payloads compare exactly. */
const bits = (values: Float32Array) => Array.from(new Uint32Array(values.buffer, values.byteOffset, values.length));

/**
 * Builds GGUF bytes field by field, independently of the module under test, in the layout gguf-py (repeng) and
 * gguf.cpp (cvector-generator) write: header, KVs, tensor infos, zero padding to 32, tensors each padded to 32.
 */
class GgufBytes {
  private readonly parts: Buffer[] = [];

  private fixed(size: number, write: (b: Buffer) => unknown): this {
    const b = Buffer.alloc(size);
    write(b);
    this.parts.push(b);
    return this;
  }

  raw(bytes: Uint8Array | string): this {
    this.parts.push(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : Buffer.from(bytes));
    return this;
  }
  u8(v: number) { return this.fixed(1, (b) => b.writeUInt8(v)); }
  u32(v: number) { return this.fixed(4, (b) => b.writeUInt32LE(v)); }
  i32(v: number) { return this.fixed(4, (b) => b.writeInt32LE(v)); }
  u64(v: number | bigint) { return this.fixed(8, (b) => b.writeBigUInt64LE(BigInt(v))); }
  str(s: string) { return this.u64(Buffer.byteLength(s)).raw(Buffer.from(s, 'utf8')); }
  header(tensorCount: number | bigint, kvCount: number | bigint, version = 3) { return this.raw('GGUF').u32(version).u64(tensorCount).u64(kvCount); }
  kvString(key: string, value: string) { return this.str(key).u32(8).str(value); }
  kvU32(key: string, value: number) { return this.str(key).u32(4).u32(value); }
  kvI32(key: string, value: number) { return this.str(key).u32(5).i32(value); }
  tensorInfo(name: string, dims: number[], ggmlType: number, offset: number) {
    this.str(name).u32(dims.length);
    dims.forEach((dim) => this.u64(dim));
    return this.u32(ggmlType).u64(offset);
  }
  padTo(alignment: number) {
    const length = this.build().length;
    return this.raw(Buffer.alloc((alignment - (length % alignment)) % alignment));
  }
  floats(values: Float32Array) { return this.raw(new Uint8Array(values.buffer, values.byteOffset, values.byteLength)); }
  build(): Buffer { return Buffer.concat(this.parts); }
}

/** A control vector laid out as repeng / cvector-generator lay it out, with the given layer_count type. */
function controlVectorBytes(directions: [index: number, data: Float32Array][], layerCount: 'u32' | 'i32', modelHint = 'qwen2'): Buffer {
  const g = new GgufBytes().header(directions.length, 3).kvString('general.architecture', 'controlvector').kvString('controlvector.model_hint', modelHint);
  if (layerCount === 'u32') g.kvU32('controlvector.layer_count', directions.length);
  else g.kvI32('controlvector.layer_count', directions.length);
  let offset = 0;
  for (const [index, data] of directions) {
    g.tensorInfo(`direction.${index}`, [data.length], 0, offset);
    offset += Math.ceil(data.byteLength / 32) * 32;
  }
  g.padTo(32);
  for (const [, data] of directions) g.floats(data).padTo(32);
  return g.build();
}

describe('GGUF control vectors (llama.cpp / repeng interchange)', () => {
  let dir: string;
  const file = (name: string) => path.join(dir, name);
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'persona-lens-gguf-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** [rows, d] with rows 0 and 1 zero (never exportable) and awkward floats in the rest. */
  function sampleVector(rows: number, d: number): Float32Array {
    const vector = new Float32Array(rows * d);
    for (let i = 2 * d; i < vector.length; i++) vector[i] = Math.sin(i * 12.9898) * 3.5;
    vector[2 * d] = -0;
    vector[2 * d + 1] = 1e-45; // smallest subnormal
    vector[3 * d] = 3.4028234663852886e38;
    return vector;
  }

  async function expectGgufError(filePath: string, pattern: RegExp, read: (p: string) => Promise<unknown> = importControlVector): Promise<void> {
    await assert.rejects(read(filePath), (error: unknown) => {
      assert.ok(error instanceof GgufError, `expected a GgufError, got ${error}`);
      assert.ok(error.message.startsWith(`${filePath}: `), `message names the file: ${error.message}`);
      assert.match(error.message, pattern);
      return true;
    });
  }

  function writeBytes(name: string, bytes: Uint8Array): string {
    writeFileSync(file(name), bytes);
    return file(name);
  }

  describe('export and import', () => {
    it('round-trips bit-exactly in our row convention', async () => {
      const rows = 6;
      const d = 7; // 28-byte tensors, so every tensor needs padding
      const vector = sampleVector(rows, d);
      const written = exportControlVector(file('round.gguf'), vector, rows, d, 'qwen2');
      assert.deepEqual(written, [2, 3, 4, 5]);
      const imported = await importControlVector(file('round.gguf'));
      assert.equal(imported.rows, rows);
      assert.equal(imported.d, d);
      assert.equal(imported.modelHint, 'qwen2');
      assert.equal(imported.layerCount, 4);
      assert.deepEqual(bits(imported.vector), bits(vector));
    });

    it('writes our row r as direction.{r-1} (the 0-based block llama.cpp adds it after) and never direction.0', async () => {
      const rows = 6;
      const d = 4;
      const vector = sampleVector(rows, d);
      exportControlVector(file('row3.gguf'), vector, rows, d, 'llama', { layers: [3] });
      const only = await readGguf(file('row3.gguf'));
      assert.deepEqual(only.tensors.map((t) => t.name), ['direction.2']);
      assert.deepEqual(bits(only.tensors[0].data), bits(vector.subarray(3 * d, 4 * d)));
      const back = await importControlVector(file('row3.gguf'));
      assert.equal(back.rows, 4, 'direction.2 is row 3, so the file spans rows 0–3');
      assert.deepEqual(bits(back.vector.subarray(3 * d, 4 * d)), bits(vector.subarray(3 * d, 4 * d)));
      assert.ok(back.vector.subarray(0, 3 * d).every((v) => v === 0), 'rows without a direction are zero');

      exportControlVector(file('all.gguf'), vector, rows, d, 'llama');
      assert.deepEqual((await readGguf(file('all.gguf'))).tensors.map((t) => t.name), ['direction.1', 'direction.2', 'direction.3', 'direction.4']);
    });

    it('refuses rows llama.cpp cannot carry, bad shapes and non-finite values', async () => {
      const vector = sampleVector(5, 3);
      const out = file('refused.gguf');
      assert.throws(() => exportControlVector(out, vector, 5, 3, 'qwen2', { layers: [1] }), /direction\.0, which llama\.cpp rejects/);
      assert.throws(() => exportControlVector(out, vector, 5, 3, 'qwen2', { layers: [0] }), /embedding output/);
      assert.throws(() => exportControlVector(out, vector, 5, 3, 'qwen2', { layers: [5] }), /outside the vector's rows 0–4/);
      assert.throws(() => exportControlVector(out, vector, 5, 3, 'qwen2', { layers: [2, 2] }), /repeat a row/);
      assert.throws(() => exportControlVector(out, vector, 5, 3, 'qwen2', { layers: [] }), /no layers selected/);
      assert.throws(() => exportControlVector(out, vector, 4, 3, 'qwen2'), /rows × d = 4 × 3 = 12/);
      assert.throws(() => exportControlVector(out, new Float32Array(6), 2, 3, 'qwen2'), /nothing llama\.cpp can carry/);
      assert.throws(() => exportControlVector(out, vector, 5, 3, ''), /modelHint/);
      const withNaN = vector.slice();
      withNaN[4 * 3 + 1] = NaN;
      assert.throws(() => exportControlVector(out, withNaN, 5, 3, 'qwen2'), /row 4 holds NaN at index 1/);
    });

    it('writes the metadata llama.cpp tools expect, with the right GGUF types and layout', async () => {
      exportControlVector(file('meta.gguf'), sampleVector(4, 5), 4, 5, 'qwen2');
      const parsed = await readGguf(file('meta.gguf'));
      assert.deepEqual([...parsed.metadata], [
        ['general.architecture', { type: 'string', value: 'controlvector' }],
        ['controlvector.model_hint', { type: 'string', value: 'qwen2' }],
        ['controlvector.layer_count', { type: 'u32', value: 2 }],
      ]);
      assert.equal(parsed.alignment, 32);
      assert.deepEqual(parsed.tensors.map((t) => t.dims), [[5], [5]]);
      const bytes = readFileSync(file('meta.gguf'));
      assert.equal(bytes.subarray(0, 4).toString('latin1'), 'GGUF');
      assert.equal(bytes.readUInt32LE(4), 3);
      assert.equal(bytes.readBigUInt64LE(8), 2n, 'tensor count');
      assert.equal(bytes.readBigUInt64LE(16), 3n, 'metadata count');
      assert.equal(bytes.length % 32, 0, 'the data section and every tensor are padded to 32 bytes');
      const vector = sampleVector(4, 5);
      const expected = controlVectorBytes([[1, vector.slice(10, 15)], [2, vector.slice(15, 20)]], 'u32');
      assert.deepEqual(bytes, expected, 'byte-for-byte the layout gguf-py (repeng) writes');
    });
  });

  describe('files written by other tools', () => {
    it('imports a repeng export_gguf file (u32 layer_count, directions in descending order)', async () => {
      // repeng trains hidden_layers = range(-1, -num_hidden_layers, -1) → blocks n-1..1 for a 4-block model.
      const d = 5;
      const directions: [number, Float32Array][] = [3, 2, 1].map((index) => [index, Float32Array.from({ length: d }, (_, j) => index * 10 + j + 0.25)]);
      const imported = await importControlVector(writeBytes('repeng.gguf', controlVectorBytes(directions, 'u32', 'qwen2')));
      assert.equal(imported.rows, 5);
      assert.equal(imported.d, d);
      assert.equal(imported.layerCount, 3);
      assert.equal(imported.modelHint, 'qwen2');
      for (const [index, data] of directions) assert.deepEqual(bits(imported.vector.subarray((index + 1) * d, (index + 2) * d)), bits(data), `direction.${index} is row ${index + 1}`);
      assert.ok(imported.vector.subarray(0, 2 * d).every((v) => v === 0));
    });

    it('imports a llama-cvector-generator file (i32 layer_count, direction.1..n-1 ascending)', async () => {
      const d = 8;
      const directions: [number, Float32Array][] = [1, 2, 3, 4, 5].map((index) => [index, Float32Array.from({ length: d }, (_, j) => (j % 2 ? -1 : 1) / (index + j))]);
      const imported = await importControlVector(writeBytes('cvector.gguf', controlVectorBytes(directions, 'i32', 'llama')));
      assert.equal(imported.rows, 7);
      assert.equal(imported.layerCount, 5);
      assert.equal(imported.modelHint, 'llama');
      for (const [index, data] of directions) assert.deepEqual(bits(imported.vector.subarray((index + 1) * d, (index + 2) * d)), bits(data));
    });

    it('honours general.alignment', async () => {
      const data = Float32Array.from([1, 2, 3]);
      const bytes = new GgufBytes()
        .header(1, 4)
        .kvString('general.architecture', 'controlvector')
        .kvString('controlvector.model_hint', 'qwen2')
        .kvU32('controlvector.layer_count', 1)
        .kvU32('general.alignment', 64)
        .tensorInfo('direction.1', [3], 0, 0)
        .padTo(64)
        .floats(data)
        .padTo(64)
        .build();
      const parsed = await readGguf(writeBytes('aligned64.gguf', bytes));
      assert.equal(parsed.alignment, 64);
      assert.deepEqual(bits(parsed.tensors[0].data), bits(data));
    });
  });

  describe('fitting an imported vector to a model', () => {
    it('pads to the model, and refuses another hidden size or a deeper model', async () => {
      exportControlVector(file('fit.gguf'), sampleVector(4, 3), 4, 3, 'qwen2');
      const imported = await importControlVector(file('fit.gguf'));
      const fitted = checkControlVectorFits(imported, 6, 3);
      assert.equal(fitted.length, 18);
      assert.deepEqual(bits(fitted.subarray(0, 12)), bits(imported.vector));
      assert.ok(fitted.subarray(12).every((v) => v === 0));
      assert.throws(() => checkControlVectorFits(imported, 6, 4), /width 3 does not match the model's hidden size 4; it was made for a "qwen2" model/);
      assert.throws(() => checkControlVectorFits(imported, 3, 3), /steers block 2 \(direction\.2\), but the model has only 2 blocks \(0–1\)/);
    });
  });

  describe('hostile and malformed files', () => {
    const good = () => controlVectorBytes([[1, Float32Array.from([1, 2, 3])], [2, Float32Array.from([4, 5, 6])]], 'u32');

    it('rejects every truncation with a message naming the file', async () => {
      const bytes = good();
      for (const length of [0, 3, 7, 20, 30, 60, 100, bytes.length - 40, bytes.length - 20]) {
        await expectGgufError(writeBytes(`cut-${length}.gguf`, bytes.subarray(0, length)), /truncated|runs past the end/);
      }
    });

    it('rejects a bad magic, other versions and big-endian files', async () => {
      const bytes = good();
      const notGguf = Buffer.from(bytes);
      notGguf.write('GGML', 0, 'latin1');
      await expectGgufError(writeBytes('magic.gguf', notGguf), /not a GGUF file \(starts with 0x47474d4c/);
      const v1 = Buffer.from(bytes);
      v1.writeUInt32LE(1, 4);
      await expectGgufError(writeBytes('v1.gguf', v1), /unsupported GGUF version 1; versions 2 and 3 are supported/);
      const bigEndian = Buffer.from(bytes);
      bigEndian.writeUInt32BE(3, 4);
      await expectGgufError(writeBytes('be.gguf', bigEndian), /big-endian/);
    });

    it('rejects absurd counts and lengths before allocating', async () => {
      // @huggingface/gguf bounds every count before it allocates; we name the file around its message.
      await expectGgufError(writeBytes('tensors.gguf', new GgufBytes().header(2n ** 63n, 0).build()), /not a readable GGUF file \(Tensor count 9223372036854775808 exceeds maximum/);
      await expectGgufError(writeBytes('kvs.gguf', new GgufBytes().header(0, 0xffffffffffn).build()), /KV metadata count 1099511627775 exceeds maximum/);
      await expectGgufError(writeBytes('key.gguf', new GgufBytes().header(0, 1).u64(2n ** 60n).raw(new Uint8Array(16)).build()), /String length 1152921504606846976 exceeds maximum/);
      const hugeArray = new GgufBytes().header(0, 1).str('tokens').u32(9).u32(8).u64(1e12).build();
      await expectGgufError(writeBytes('array.gguf', hugeArray), /array length 1000000000000 exceeds maximum/);
      const hugeDims = new GgufBytes().header(1, 0).tensorInfo('direction.1', [40, 40], 0, 0).build();
      await expectGgufError(writeBytes('dims.gguf', hugeDims), /more data than the whole file holds/);
    });

    it('rejects tensor data past the end and misplaced offsets', async () => {
      const missingData = new GgufBytes()
        .header(1, 3)
        .kvString('general.architecture', 'controlvector')
        .kvString('controlvector.model_hint', 'qwen2')
        .kvU32('controlvector.layer_count', 1)
        .tensorInfo('direction.1', [64], 0, 0)
        .padTo(32)
        .floats(new Float32Array(10))
        .build();
      const unpadded = good().subarray(0, good().length - 20);
      await expectGgufError(writeBytes('unpadded.gguf', unpadded), /truncated: the padded data section ends at byte \d+/, readGguf);
      await expectGgufError(writeBytes('past-end.gguf', missingData), /tensor "direction\.1" data \(bytes \d+–\d+\) runs past the end of the file/);
      const farOffset = new GgufBytes().header(1, 0).tensorInfo('direction.1', [3], 0, 2 ** 40).padTo(32).floats(new Float32Array(3)).build();
      await expectGgufError(writeBytes('offset.gguf', farOffset), /tensor "direction\.1" is at data offset 1099511627776, expected 0/, readGguf);
      const gap = new GgufBytes().header(1, 0).tensorInfo('direction.1', [3], 0, 32).padTo(32).raw(new Uint8Array(64)).build();
      await expectGgufError(writeBytes('gap.gguf', gap), /is at data offset 32, expected 0/, readGguf);
    });

    it('rejects tensors that are not F32, and ggml types nobody reads', async () => {
      const f16 = new GgufBytes()
        .header(1, 3)
        .kvString('general.architecture', 'controlvector')
        .kvString('controlvector.model_hint', 'qwen2')
        .kvU32('controlvector.layer_count', 1)
        .tensorInfo('direction.1', [4], 1, 0)
        .padTo(32)
        .raw(new Uint8Array(32))
        .build();
      await expectGgufError(writeBytes('f16.gguf', f16), /tensor "direction\.1" is F16; control vectors must be F32/);
      const iq2 = new GgufBytes().header(1, 0).tensorInfo('direction.1', [256], 16, 0).padTo(32).raw(new Uint8Array(96)).build();
      await expectGgufError(writeBytes('iq2.gguf', iq2), /tensor "direction\.1" has ggml type 16, which Persona Lens cannot read; supported: F32, .*Q4_K/, readGguf);
    });

    it('rejects malformed metadata', async () => {
      const nested = new GgufBytes().header(0, 1).str('nested').u32(9).u32(9).u64(1).u32(4).u64(0).build();
      await expectGgufError(writeBytes('nested.gguf', nested), /array of arrays/, readGguf);
      const unknownType = new GgufBytes().header(0, 1).str('odd').u32(13).u32(0).build();
      await expectGgufError(writeBytes('type.gguf', unknownType), /Unsupported metadata type: 13/, readGguf);
      const duplicate = new GgufBytes().header(0, 2).kvU32('k', 1).kvU32('k', 2).build();
      await expectGgufError(writeBytes('dup.gguf', duplicate), /declares 2 metadata entries but holds 1 distinct keys \(a key appears twice\)/, readGguf);
      const badAlignment = new GgufBytes().header(0, 1).kvU32('general.alignment', 24).build();
      await expectGgufError(writeBytes('align.gguf', badAlignment), /general\.alignment 24 is not a power of two/, readGguf);
    });

    it('restores leading U+FEFF tokens from the real token array, not from a string value that mimics its bytes', async () => {
      const tokens = ['\uFEFF//', '//', 'x'];
      const key = 'tokenizer.ggml.tokens';
      // A string value that starts like the token array (key, array of string, count 3), then goes astray.
      const mimic = (tail: GgufBytes) => new GgufBytes().str(key).u32(9).u32(8).u64(tokens.length).raw(tail.build()).build();
      const outOfRange = mimic(new GgufBytes().u64(2n ** 64n - 1n));
      const wrongItem = mimic(new GgufBytes().str('\uFEFFa').str('//').str('x'));
      const lateEnd = mimic(new GgufBytes().str('//').str('//').u64(2n ** 40n));
      // The whole array again, with a BOM added to an item that has none: equal to the parser's items BOMs aside.
      const bomAdded = mimic(new GgufBytes().str('\uFEFF//').str('\uFEFF//').str('x'));
      for (const [name, bait] of [['out-of-range', outOfRange], ['wrong-item', wrongItem], ['late-end', lateEnd], ['bom-added', bomAdded]] as const) {
        const g = new GgufBytes().header(0, 2).str('general.comment').u32(8).u64(bait.length).raw(bait).str(key).u32(9).u32(8).u64(tokens.length);
        for (const t of tokens) g.str(t);
        const header = await readGgufHeader(writeBytes(`bom-${name}.gguf`, g.build()));
        const read = header.metadata.get(key) as { items: { value: string }[] };
        assert.deepEqual(read.items.map((i) => i.value), tokens, name);
      }
    });

    it('rejects GGUFs that are not well-formed control vectors', async () => {
      const one = (index: number, d = 3): [number, Float32Array] => [index, new Float32Array(d).fill(index)];
      const model = new GgufBytes().header(0, 1).kvString('general.architecture', 'qwen2').build();
      await expectGgufError(writeBytes('model.gguf', model), /is a "qwen2" GGUF, not a control vector/);
      const noHint = new GgufBytes().header(0, 1).kvString('general.architecture', 'controlvector').build();
      await expectGgufError(writeBytes('nohint.gguf', noHint), /metadata "controlvector\.model_hint" is missing/);
      await expectGgufError(writeBytes('zero.gguf', controlVectorBytes([one(0), one(1)], 'u32')), /direction\.0, which llama\.cpp rejects/);
      const misnamed = Buffer.from(controlVectorBytes([one(7)], 'u32'));
      misnamed.write('x', misnamed.indexOf('direction.7') + 'direction.'.length, 'latin1');
      await expectGgufError(writeBytes('name.gguf', misnamed), /tensor "direction\.x" is not named direction\.<block>/);
      await expectGgufError(writeBytes('widths.gguf', controlVectorBytes([one(1, 3), one(2, 4)], 'u32')), /"direction\.2" has 4 values; every direction must have the same/);
      await expectGgufError(writeBytes('far.gguf', controlVectorBytes([one(5000)], 'u32')), /targets block 5000, beyond any real model/);
      const nan = controlVectorBytes([[1, Float32Array.from([1, NaN, 3])]], 'u32');
      await expectGgufError(writeBytes('nan.gguf', nan), /"direction\.1" holds NaN at index 1/);
      const count = controlVectorBytes([one(1), one(2)], 'u32');
      const wrongCount = Buffer.from(count);
      wrongCount.writeUInt32LE(7, count.indexOf('controlvector.layer_count') + 'controlvector.layer_count'.length + 4);
      await expectGgufError(writeBytes('count.gguf', wrongCount), /layer_count says 7 but the file holds 2 direction tensors/);
      const twoD = new GgufBytes()
        .header(1, 3)
        .kvString('general.architecture', 'controlvector')
        .kvString('controlvector.model_hint', 'qwen2')
        .kvU32('controlvector.layer_count', 1)
        .tensorInfo('direction.1', [2, 2], 0, 0)
        .padTo(32)
        .floats(new Float32Array(4))
        .padTo(32)
        .build();
      await expectGgufError(writeBytes('2d.gguf', twoD), /shape \[2,2\]; a direction must be one-dimensional/);
    });
  });

  describe('generic GGUF values', () => {
    it('round-trips every value type and keeps NaN payloads bit-exact', async () => {
      const metadata = new Map<string, GgufValue>([
        ['a.u8', { type: 'u8', value: 255 }],
        ['a.i8', { type: 'i8', value: -128 }],
        ['a.u16', { type: 'u16', value: 65535 }],
        ['a.i16', { type: 'i16', value: -32768 }],
        ['a.u32', { type: 'u32', value: 4294967295 }],
        ['a.i32', { type: 'i32', value: -2147483648 }],
        ['a.f32', { type: 'f32', value: 0.5 }],
        ['a.f64', { type: 'f64', value: Math.PI }],
        ['a.u64', { type: 'u64', value: 2n ** 64n - 1n }],
        ['a.i64', { type: 'i64', value: -(2n ** 63n) }],
        ['a.bool', { type: 'bool', value: true }],
        ['a.string', { type: 'string', value: 'naïve ✓' }],
        ['a.strings', { type: 'array', elementType: 'string', items: [{ type: 'string', value: 'x' }, { type: 'string', value: '' }] }],
        ['a.empty', { type: 'array', elementType: 'u32', items: [] }],
      ]);
      const payloads = new Float32Array(new Uint32Array([0x7fc00001, 0xffbfffff, 0x80000000, 0x00000001]).buffer);
      writeGguf(file('values.gguf'), metadata, [{ name: 'payloads', dims: [2, 2], data: payloads }]);
      const parsed = await readGguf(file('values.gguf'));
      assert.deepEqual(parsed.metadata, metadata);
      assert.deepEqual(parsed.tensors[0].dims, [2, 2]);
      assert.deepEqual(bits(parsed.tensors[0].data), [0x7fc00001, 0xffbfffff, 0x80000000, 0x00000001]);
    });

    it('refuses to write values that do not fit their type', async () => {
      const out = file('bad-values.gguf');
      assert.throws(() => writeGguf(out, new Map([['x', { type: 'u8', value: 256 }]]), []), /256 is not a valid u8/);
      assert.throws(() => writeGguf(out, new Map([['x', { type: 'i32', value: 1.5 }]]), []), /1\.5 is not a valid i32/);
      assert.throws(() => writeGguf(out, new Map([['x', { type: 'array', elementType: 'u32', items: [{ type: 'string', value: 's' }] }]]), []), /is a string in an array of u32/);
      assert.throws(() => writeGguf(out, new Map(), [{ name: 't', dims: [3], data: new Float32Array(2) }]), /2 values but shape \[3\]/);
    });
  });
});
