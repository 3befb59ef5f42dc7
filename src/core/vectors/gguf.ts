/**
 * llama.cpp control vectors: a minimal, strict GGUF v3 reader and writer (little-endian, F32 tensors only) and the
 * mapping between our [layers+1, d] persona vectors and a control-vector file, so a vector steers the same residual
 * position in Persona Lens, llama.cpp and Ollama, and vectors from repeng or llama-cvector-generator import here.
 *
 * Layer convention. Our row r is HF `hidden_states[r]`: row 0 is the embedding output, row r ≥ 1 the output of
 * decoder block r-1 counted from 0. In a control-vector file, `direction.N` is added to the output of the 0-based
 * block N, so **`direction.N` ↔ our row N+1** and our row r is written as `direction.{r-1}`. Exportable rows are
 * 2..layers; row 0 (embeddings) and row 1 (`direction.0`) cannot be carried. This is what the issue asks for
 * ("N is the 0-based block whose output was read, i.e. our row N+1; never direction.0"), checked against:
 *  - llama.cpp `common/common.cpp` `common_control_vector_load_one`: `direction.0` is rejected ("invalid (zero)
 *    direction tensor layer index"); `direction.N` is stored at `data[n_embd * (N - 1)]`.
 *  - llama.cpp `src/llama-adapter.cpp` `llama_adapter_cvec::apply`: `tensors[il]` takes `data[n_embd * (il - 1)]`
 *    for il = 1..n_layer-1 ("there's never a tensor for layer 0"), so `direction.N` lands in `tensors[N]`.
 *  - llama.cpp `src/models/*.cpp` (e.g. `qwen2.cpp`): inside `for (il = 0; il < n_layer; ++il)`, after the FFN
 *    residual add, `cur = build_cvec(cur, il); cb(cur, "l_out", il);` — it shifts block il's output, which feeds
 *    block il+1 and equals HF `hidden_states[il+1]`.
 *  - repeng `repeng/extract.py`: `directions[layer]` is read from `out.hidden_states[layer + 1]` and exported as
 *    `direction.{layer}`; `repeng/control.py` adds it to `model.layers[layer]`'s output. Same mapping.
 *  - llama.cpp `tools/cvector-generator` (`pca.hpp`/`mean.hpp`) names the vector computed from `l_out-il` as
 *    `direction.{il+1}`, one block after where it was read. We import by where llama.cpp applies it (row N+1), so
 *    its vectors steer here exactly as they do in llama.cpp.
 */
import { readFileSync, statSync } from 'node:fs';
import { writeFileAtomic } from '../io/userFiles';

export class GgufError extends Error {
  constructor(readonly path: string, problem: string) {
    super(`${path}: ${problem}`);
    this.name = 'GgufError';
  }
}

/** GGUF value types, indexed by their on-disk code. */
const VALUE_TYPES = ['u8', 'i8', 'u16', 'i16', 'u32', 'i32', 'f32', 'bool', 'string', 'array', 'u64', 'i64', 'f64'] as const;
export type GgufValueType = (typeof VALUE_TYPES)[number];
export type GgufElementType = Exclude<GgufValueType, 'array'>;

/** Smallest encoding of one value of each type, used to reject counts the remaining bytes cannot hold. */
const MIN_BYTES: Record<GgufElementType, number> = { u8: 1, i8: 1, u16: 2, i16: 2, u32: 4, i32: 4, f32: 4, bool: 1, string: 8, u64: 8, i64: 8, f64: 8 };

const INTEGER_TYPES = {
  u8: { min: 0, max: 0xff, write: 'writeUInt8' },
  i8: { min: -0x80, max: 0x7f, write: 'writeInt8' },
  u16: { min: 0, max: 0xffff, write: 'writeUInt16LE' },
  i16: { min: -0x8000, max: 0x7fff, write: 'writeInt16LE' },
  u32: { min: 0, max: 0xffffffff, write: 'writeUInt32LE' },
  i32: { min: -0x80000000, max: 0x7fffffff, write: 'writeInt32LE' },
} as const;

export type GgufValue =
  | { type: 'u8' | 'i8' | 'u16' | 'i16' | 'u32' | 'i32' | 'f32' | 'f64'; value: number }
  | { type: 'u64' | 'i64'; value: bigint }
  | { type: 'bool'; value: boolean }
  | { type: 'string'; value: string }
  | { type: 'array'; elementType: GgufElementType; items: GgufValue[] };

export interface GgufTensor {
  name: string;
  /** ggml order: dims[0] is the innermost, contiguous dimension. */
  dims: number[];
  data: Float32Array;
}

/** ggml block types the writer stores as given (bytes already in ggml's block layout). */
export const GGML_BLOCK_TYPES = {
  Q4_0: { code: 2, blockValues: 32, blockBytes: 18 },
  Q8_0: { code: 8, blockValues: 32, blockBytes: 34 },
} as const;

/** A tensor already quantized into ggml blocks along dims[0] (written, not read: the reader takes F32 only). */
export interface GgufBlockTensor {
  name: string;
  dims: number[];
  ggmlType: keyof typeof GGML_BLOCK_TYPES;
  bytes: Uint8Array;
}

export interface GgufFile {
  /** In file order. */
  metadata: Map<string, GgufValue>;
  tensors: GgufTensor[];
  alignment: number;
}

const MAGIC = 'GGUF';
const VERSION = 3;
const DEFAULT_ALIGNMENT = 32;
const GGML_TYPE_F32 = 0;
/** ggml's GGML_MAX_DIMS. */
const MAX_DIMS = 4;
/** ggml's GGML_MAX_NAME, which counts the terminating NUL. */
const MAX_TENSOR_NAME_BYTES = 63;
/** Control vectors are a few MB; refusing more keeps a model GGUF picked by mistake from being read into memory. */
const MAX_GGUF_BYTES = 512 * 1024 * 1024;
/** No released decoder has anywhere near this many blocks; bounds the allocation a hostile `direction.N` can ask for. */
const MAX_DIRECTION_INDEX = 1024;

const alignUp = (n: number, alignment: number) => Math.ceil(n / alignment) * alignment;

/** Reads little-endian fields in order; every read is bounds-checked and errors name the file. */
class GgufCursor {
  private offset = 0;
  private readonly view: DataView;
  private readonly text = new TextDecoder('utf-8', { fatal: true });

  constructor(readonly bytes: Uint8Array, readonly path: string) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get position(): number {
    return this.offset;
  }

  fail(problem: string): never {
    throw new GgufError(this.path, problem);
  }

  private take(n: number, what: string): number {
    if (n > this.bytes.length - this.offset) this.fail(`truncated: ${what} needs ${n} bytes at offset ${this.offset}, but the file ends at ${this.bytes.length}`);
    const at = this.offset;
    this.offset += n;
    return at;
  }

  raw(n: number, what: string): Uint8Array {
    const at = this.take(n, what);
    return this.bytes.subarray(at, at + n);
  }

  u8(what: string) { return this.view.getUint8(this.take(1, what)); }
  i8(what: string) { return this.view.getInt8(this.take(1, what)); }
  u16(what: string) { return this.view.getUint16(this.take(2, what), true); }
  i16(what: string) { return this.view.getInt16(this.take(2, what), true); }
  u32(what: string) { return this.view.getUint32(this.take(4, what), true); }
  i32(what: string) { return this.view.getInt32(this.take(4, what), true); }
  f32(what: string) { return this.view.getFloat32(this.take(4, what), true); }
  f64(what: string) { return this.view.getFloat64(this.take(8, what), true); }
  u64(what: string) { return this.view.getBigUint64(this.take(8, what), true); }
  i64(what: string) { return this.view.getBigInt64(this.take(8, what), true); }

  /** A u64 count of items needing at least `minBytesEach`, refused if the rest of the file cannot hold them. */
  count(what: string, minBytesEach: number): number {
    const n = this.u64(what);
    const room = BigInt(this.bytes.length - this.offset);
    if (n * BigInt(minBytesEach) > room) this.fail(`${what} is ${n}, more than the remaining ${room} bytes can hold (truncated or corrupt file)`);
    return Number(n);
  }

  string(what: string): string {
    const utf8 = this.raw(this.count(`${what} length`, 1), what);
    try {
      return this.text.decode(utf8);
    } catch {
      return this.fail(`${what} is not valid UTF-8`);
    }
  }
}

function readValue(cursor: GgufCursor, typeCode: number, what: string): GgufValue {
  const type = VALUE_TYPES[typeCode];
  if (type === undefined) cursor.fail(`${what} has unknown value type ${typeCode}`);
  switch (type) {
    case 'u8': case 'i8': case 'u16': case 'i16': case 'u32': case 'i32': case 'f32': case 'f64':
      return { type, value: cursor[type](what) };
    case 'u64': case 'i64':
      return { type, value: cursor[type](what) };
    case 'bool': {
      const byte = cursor.u8(what);
      if (byte > 1) cursor.fail(`${what} is a bool stored as ${byte}; only 0 and 1 are valid`);
      return { type, value: byte === 1 };
    }
    case 'string':
      return { type, value: cursor.string(what) };
    case 'array': {
      const elementCode = cursor.u32(`${what} element type`);
      const elementType = VALUE_TYPES[elementCode];
      // gguf.cpp has no arrays of arrays either.
      if (elementType === 'array') cursor.fail(`${what} is an array of arrays, which GGUF does not support`);
      if (elementType === undefined) cursor.fail(`${what} has unknown element type ${elementCode}`);
      const length = cursor.count(`${what} length`, MIN_BYTES[elementType]);
      const items: GgufValue[] = [];
      for (let i = 0; i < length; i++) items.push(readValue(cursor, elementCode, `${what}[${i}]`));
      return { type, elementType, items };
    }
  }
}

function checkedSize(cursor: GgufCursor, value: bigint, what: string): number {
  if (value > BigInt(cursor.bytes.length)) cursor.fail(`${what} is ${value}, larger than the whole file (${cursor.bytes.length} bytes)`);
  return Number(value);
}

/** Parses a GGUF v3 file held in memory. `path` only labels errors. */
function parseGguf(bytes: Uint8Array, path: string): GgufFile {
  const cursor: GgufCursor = new GgufCursor(bytes, path); // annotated so `cursor.fail` narrows types
  const magic = Buffer.from(cursor.raw(4, 'magic'));
  if (magic.toString('latin1') !== MAGIC) cursor.fail(`not a GGUF file (starts with 0x${magic.toString('hex')}, not "GGUF")`);
  const version = cursor.u32('version');
  if (version === 0x03000000) cursor.fail('is a big-endian GGUF; only little-endian files are supported');
  if (version !== VERSION) cursor.fail(`unsupported GGUF version ${version}; only version ${VERSION} is supported`);
  const tensorCount = cursor.count('tensor count', 8 + 4 + 8 + 4 + 8);
  const kvCount = cursor.count('metadata entry count', 8 + 4 + 1);

  const metadata = new Map<string, GgufValue>();
  for (let i = 0; i < kvCount; i++) {
    const key = cursor.string(`metadata key #${i}`);
    if (metadata.has(key)) cursor.fail(`metadata key "${key}" appears twice`);
    metadata.set(key, readValue(cursor, cursor.u32(`type of "${key}"`), `metadata "${key}"`));
  }

  let alignment = DEFAULT_ALIGNMENT;
  const alignmentEntry = metadata.get('general.alignment');
  if (alignmentEntry) {
    if (alignmentEntry.type !== 'u32') cursor.fail(`general.alignment must be a u32, not ${alignmentEntry.type}`);
    alignment = alignmentEntry.value;
    if (alignment === 0 || (alignment & (alignment - 1)) !== 0) cursor.fail(`general.alignment ${alignment} is not a power of two`);
  }

  const infos: { name: string; dims: number[]; elements: number; offset: number }[] = [];
  const names = new Set<string>();
  for (let i = 0; i < tensorCount; i++) {
    const name = cursor.string(`tensor #${i} name`);
    if (Buffer.byteLength(name) > MAX_TENSOR_NAME_BYTES) cursor.fail(`tensor name "${name}" is longer than ${MAX_TENSOR_NAME_BYTES} bytes`);
    if (names.has(name)) cursor.fail(`tensor "${name}" appears twice`);
    names.add(name);
    const dimCount = cursor.u32(`tensor "${name}" dimension count`);
    if (dimCount < 1 || dimCount > MAX_DIMS) cursor.fail(`tensor "${name}" has ${dimCount} dimensions; expected 1–${MAX_DIMS}`);
    const dims: number[] = [];
    let elements = 1;
    for (let j = 0; j < dimCount; j++) {
      dims.push(checkedSize(cursor, cursor.u64(`tensor "${name}" dimension ${j}`), `tensor "${name}" dimension ${j}`));
      elements *= dims[j];
      if (elements * 4 > bytes.length) cursor.fail(`tensor "${name}" has shape [${dims}…], more data than the whole file holds`);
    }
    const ggmlType = cursor.u32(`tensor "${name}" type`);
    if (ggmlType !== GGML_TYPE_F32) cursor.fail(`tensor "${name}" has ggml type ${ggmlType}; only F32 (type ${GGML_TYPE_F32}) is supported`);
    const offset = checkedSize(cursor, cursor.u64(`tensor "${name}" offset`), `tensor "${name}" offset`);
    infos.push({ name, dims, elements, offset });
  }

  const dataStart = alignUp(cursor.position, alignment);
  // Like gguf.cpp, tensors must be packed in order with each one padded to the alignment.
  let expectedOffset = 0;
  const tensors = infos.map(({ name, dims, elements, offset }) => {
    if (offset !== expectedOffset) cursor.fail(`tensor "${name}" is at data offset ${offset}, expected ${expectedOffset} (tensors are packed in order, each padded to ${alignment} bytes)`);
    const start = dataStart + offset;
    const end = start + elements * 4;
    if (end > bytes.length) cursor.fail(`tensor "${name}" data (bytes ${start}–${end}) runs past the end of the file (${bytes.length} bytes)`);
    // A raw byte copy keeps every float bit-exact (NaN payloads included); Node runs little-endian everywhere we ship.
    const data = new Float32Array(elements);
    new Uint8Array(data.buffer).set(bytes.subarray(start, end));
    expectedOffset = alignUp(offset + elements * 4, alignment);
    return { name, dims, data };
  });
  // gguf.cpp reads the last tensor's padding too, so a file without it does not load in llama.cpp.
  const dataEnd = dataStart + expectedOffset;
  if (tensors.length > 0 && dataEnd > bytes.length) cursor.fail(`truncated: the padded data section ends at byte ${dataEnd}, but the file ends at ${bytes.length}`);
  return { metadata, tensors, alignment };
}

export function readGguf(path: string): GgufFile {
  const size = statSync(path).size;
  if (size > MAX_GGUF_BYTES) throw new GgufError(path, `is ${size} bytes, too large for a control vector (is it a model file?)`);
  return parseGguf(readFileSync(path), path);
}

/** Appends little-endian fields to a list of chunks. */
class GgufWriter {
  readonly chunks: Buffer[] = [];
  length = 0;

  private push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  private fixed(size: number, write: (b: Buffer) => unknown): void {
    const chunk = Buffer.alloc(size);
    write(chunk);
    this.push(chunk);
  }

  u32(value: number): void { this.fixed(4, (b) => b.writeUInt32LE(value)); }
  u64(value: number | bigint): void { this.fixed(8, (b) => b.writeBigUInt64LE(BigInt(value))); }
  string(value: string): void {
    const utf8 = Buffer.from(value, 'utf8');
    this.u64(utf8.length);
    this.push(utf8);
  }
  raw(bytes: Uint8Array): void { this.push(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)); }
  padTo(alignment: number): void { this.push(Buffer.alloc(alignUp(this.length, alignment) - this.length)); }

  value(value: GgufValue, what: string): void {
    switch (value.type) {
      case 'u8': case 'i8': case 'u16': case 'i16': case 'u32': case 'i32': {
        const { min, max, write } = INTEGER_TYPES[value.type];
        const integer = value.value;
        if (!Number.isInteger(integer) || integer < min || integer > max) throw new RangeError(`${what}: ${integer} is not a valid ${value.type}`);
        return this.fixed(MIN_BYTES[value.type], (b) => b[write](integer));
      }
      case 'f32': return this.fixed(4, (b) => b.writeFloatLE(value.value));
      case 'f64': return this.fixed(8, (b) => b.writeDoubleLE(value.value));
      case 'u64': return this.fixed(8, (b) => b.writeBigUInt64LE(value.value));
      case 'i64': return this.fixed(8, (b) => b.writeBigInt64LE(value.value));
      case 'bool': return this.fixed(1, (b) => b.writeUInt8(value.value ? 1 : 0));
      case 'string': return this.string(value.value);
      case 'array':
        this.u32(VALUE_TYPES.indexOf(value.elementType));
        this.u64(value.items.length);
        value.items.forEach((item, i) => {
          if (item.type !== value.elementType) throw new TypeError(`${what}[${i}] is a ${item.type} in an array of ${value.elementType}`);
          this.value(item, `${what}[${i}]`);
        });
    }
  }
}

/** Writes a GGUF v3 file (default 32-byte alignment, tensors packed in the given order) via a temp file and rename. */
export function writeGguf(path: string, metadata: Map<string, GgufValue>, tensors: (GgufTensor | GgufBlockTensor)[]): void {
  const out = new GgufWriter();
  out.raw(Buffer.from(MAGIC, 'latin1'));
  out.u32(VERSION);
  out.u64(tensors.length);
  out.u64(metadata.size);
  for (const [key, value] of metadata) {
    out.string(key);
    out.u32(VALUE_TYPES.indexOf(value.type));
    out.value(value, `metadata "${key}"`);
  }
  let offset = 0;
  const names = new Set<string>();
  const payloads: Uint8Array[] = [];
  for (const tensor of tensors) {
    const { name, dims } = tensor;
    if (Buffer.byteLength(name) > MAX_TENSOR_NAME_BYTES) throw new RangeError(`tensor name "${name}" is longer than ${MAX_TENSOR_NAME_BYTES} bytes`);
    if (names.has(name)) throw new Error(`tensor "${name}" is given twice`);
    names.add(name);
    if (dims.length < 1 || dims.length > MAX_DIMS) throw new RangeError(`tensor "${name}" has ${dims.length} dimensions; GGUF allows 1–${MAX_DIMS}`);
    const count = dims.reduce((a, b) => a * b, 1);
    let type: number = GGML_TYPE_F32;
    let payload: Uint8Array;
    if ('data' in tensor) {
      if (count !== tensor.data.length) throw new RangeError(`tensor "${name}" has ${tensor.data.length} values but shape [${dims}]`);
      payload = new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
    } else {
      const block = GGML_BLOCK_TYPES[tensor.ggmlType];
      if (dims[0] % block.blockValues !== 0) throw new RangeError(`tensor "${name}": ${tensor.ggmlType} needs dims[0] to be a multiple of ${block.blockValues}`);
      if (tensor.bytes.byteLength !== (count / block.blockValues) * block.blockBytes) throw new RangeError(`tensor "${name}" has ${tensor.bytes.byteLength} bytes; ${tensor.ggmlType}[${dims}] needs ${(count / block.blockValues) * block.blockBytes}`);
      type = block.code;
      payload = tensor.bytes;
    }
    payloads.push(payload);
    out.string(name);
    out.u32(dims.length);
    dims.forEach((dim) => out.u64(dim));
    out.u32(type);
    out.u64(offset);
    offset = alignUp(offset + payload.byteLength, DEFAULT_ALIGNMENT);
  }
  out.padTo(DEFAULT_ALIGNMENT);
  for (const payload of payloads) {
    out.raw(payload);
    out.padTo(DEFAULT_ALIGNMENT);
  }
  writeFileAtomic(path, Buffer.concat(out.chunks, out.length));
}

// ——— control vectors ———

const ARCHITECTURE = 'controlvector';
const DIRECTION_NAME = /^direction\.(0|[1-9][0-9]*)$/;

/** The `direction.N` index that carries our row `row` (see the layer convention at the top). */
export const directionIndexForRow = (row: number) => row - 1;
/** Our row that `direction.N` steers. */
export const rowForDirectionIndex = (index: number) => index + 1;

export interface ImportedControlVector {
  path: string;
  /** Highest steered row + 1; rows past it belong to the model, not the file. */
  rows: number;
  d: number;
  /** [rows·d] in our row convention, zeros where the file has no direction. */
  vector: Float32Array;
  modelHint: string;
  /** `controlvector.layer_count` as written: the number of direction tensors. */
  layerCount: number;
}

function checkFinite(values: Float32Array, what: string, fail: (problem: string) => never): void {
  const bad = values.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) fail(`${what} holds ${values[bad]} at index ${bad}; a control vector must be finite`);
}

/**
 * Writes rows of our [rows, d] vector as a llama.cpp control vector: row r becomes `direction.{r-1}`.
 * `layers` picks rows (default: every exportable row, 2..rows-1). Returns the rows written.
 */
export function exportControlVector(path: string, vector: Float32Array, rows: number, d: number, modelHint: string, options: { layers?: number[] } = {}): number[] {
  if (!Number.isInteger(rows) || !Number.isInteger(d) || rows < 1 || d < 1) throw new RangeError(`rows (${rows}) and d (${d}) must be positive integers`);
  if (vector.length !== rows * d) throw new RangeError(`vector has ${vector.length} values, but rows × d = ${rows} × ${d} = ${rows * d}`);
  if (rows < 3) throw new RangeError(`a vector with ${rows} rows has nothing llama.cpp can carry: row 0 (embeddings) and row 1 (direction.0) are never applied`);
  if (!modelHint) throw new Error('modelHint must name the model architecture, e.g. "qwen2" or "llama"');
  const selected = options.layers ?? Array.from({ length: rows - 2 }, (_, i) => i + 2);
  if (selected.length === 0) throw new RangeError('no layers selected for export');
  if (new Set(selected).size !== selected.length) throw new RangeError(`layers [${selected}] repeat a row`);
  for (const row of selected) {
    if (row === 0) throw new RangeError('row 0 is the embedding output, which llama.cpp control vectors cannot steer');
    if (row === 1) throw new RangeError('row 1 (output of block 0) would be direction.0, which llama.cpp rejects; export rows 2 and up');
    if (!Number.isInteger(row) || row < 0 || row >= rows) throw new RangeError(`row ${row} is outside the vector's rows 0–${rows - 1}`);
  }
  const ordered = [...selected].sort((a, b) => a - b);
  const tensors = ordered.map((row) => {
    const data = vector.slice(row * d, (row + 1) * d);
    checkFinite(data, `row ${row}`, (problem) => { throw new RangeError(problem); });
    return { name: `direction.${directionIndexForRow(row)}`, dims: [d], data };
  });
  const metadata = new Map<string, GgufValue>([
    ['general.architecture', { type: 'string', value: ARCHITECTURE }],
    [`${ARCHITECTURE}.model_hint`, { type: 'string', value: modelHint }],
    // repeng writes a u32 here, cvector-generator an i32; llama.cpp reads neither.
    [`${ARCHITECTURE}.layer_count`, { type: 'u32', value: tensors.length }],
  ]);
  writeGguf(path, metadata, tensors);
  return ordered;
}

/** Reads a llama.cpp control vector (ours, repeng's or cvector-generator's) into our row convention. */
export function importControlVector(path: string): ImportedControlVector {
  const file = readGguf(path);
  function fail(problem: string): never {
    throw new GgufError(path, problem);
  }
  function stringEntry(key: string): string {
    const entry = file.metadata.get(key);
    if (!entry) return fail(`is not a control vector: metadata "${key}" is missing`);
    if (entry.type !== 'string') return fail(`metadata "${key}" must be a string, not ${entry.type}`);
    return entry.value;
  }
  const architecture = stringEntry('general.architecture');
  if (architecture !== ARCHITECTURE) fail(`is a "${architecture}" GGUF, not a control vector (general.architecture must be "${ARCHITECTURE}")`);
  const modelHint = stringEntry(`${ARCHITECTURE}.model_hint`);
  const layerCountEntry = file.metadata.get(`${ARCHITECTURE}.layer_count`);
  if (!layerCountEntry) return fail(`is not a control vector: metadata "${ARCHITECTURE}.layer_count" is missing`);
  if (layerCountEntry.type !== 'u32' && layerCountEntry.type !== 'i32') return fail(`metadata "${ARCHITECTURE}.layer_count" must be a u32 or i32, not ${layerCountEntry.type}`);
  const layerCount = layerCountEntry.value;
  if (file.tensors.length === 0) fail('holds no direction tensors');
  if (layerCount !== file.tensors.length) fail(`${ARCHITECTURE}.layer_count says ${layerCount} but the file holds ${file.tensors.length} direction tensors`);

  const d = file.tensors[0].data.length;
  const directions = file.tensors.map(({ name, dims, data }) => {
    const match = DIRECTION_NAME.exec(name);
    if (!match) return fail(`tensor "${name}" is not named direction.<block>`);
    const index = Number(match[1]);
    if (index === 0) fail('holds direction.0, which llama.cpp rejects (block 0 is never steered)');
    if (index > MAX_DIRECTION_INDEX) fail(`tensor "${name}" targets block ${index}, beyond any real model`);
    if (dims.length !== 1) fail(`tensor "${name}" has shape [${dims}]; a direction must be one-dimensional`);
    if (data.length !== d || d === 0) fail(`tensor "${name}" has ${data.length} values; every direction must have the same, non-zero width (${file.tensors[0].name} has ${d})`);
    checkFinite(data, `tensor "${name}"`, fail);
    return { row: rowForDirectionIndex(index), data };
  });
  const rows = Math.max(...directions.map((direction) => direction.row)) + 1;
  const vector = new Float32Array(rows * d);
  for (const { row, data } of directions) vector.set(data, row * d);
  return { path, rows, d, vector, modelHint, layerCount };
}

/**
 * Checks an imported control vector against the model it is about to steer and returns it laid out as
 * [modelRows, modelD], zero rows where the file has no direction.
 */
export function checkControlVectorFits(imported: ImportedControlVector, modelRows: number, modelD: number): Float32Array {
  const { path, d, rows, modelHint } = imported;
  if (d !== modelD) throw new GgufError(path, `control vector width ${d} does not match the model's hidden size ${modelD}; it was made for a "${modelHint}" model with another size`);
  if (rows > modelRows) {
    const lastBlock = directionIndexForRow(rows - 1);
    throw new GgufError(path, `control vector steers block ${lastBlock} (direction.${lastBlock}), but the model has only ${modelRows - 1} blocks (0–${modelRows - 2}); it was made for a deeper "${modelHint}" model`);
  }
  const fitted = new Float32Array(modelRows * modelD);
  fitted.set(imported.vector);
  return fitted;
}
