/**
 * The one GGUF reader of the code base, for model files and control vectors alike. The header (metadata and tensor
 * infos) is parsed by Hugging Face's maintained `@huggingface/gguf`; on top of it this module checks what a file
 * must satisfy before any tensor is read, the way llama.cpp's `gguf.cpp` does (little-endian v2/v3, every tensor's
 * type known, its data inside the file at the running, aligned offset), and turns every failure into one line that
 * names the file. Tensor data is read on demand with positioned reads, so a multi-GB model is never held in memory.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { alignUp, GGML_MAX_DIMS, GGUF_DEFAULT_ALIGNMENT, GgufError, MAX_TENSOR_NAME_BYTES, MIN_BYTES, VALUE_TYPES, type GgufElementType, type GgufValue } from './ggufFormat';
import { ggmlByteLength, ggmlTypeByCode, SUPPORTED_GGML_TYPES, type GgmlType } from './ggmlTypes';

export interface GgufTensorInfo {
  name: string;
  /** ggml order: dims[0] is the innermost, contiguous dimension (an HF [out, in] weight is dims [in, out]). */
  dims: number[];
  type: GgmlType;
  /** Absolute byte offset of the tensor's data in the file. */
  fileOffset: number;
  byteLength: number;
}

export interface GgufHeader {
  path: string;
  version: number;
  fileSize: number;
  /** In file order. */
  metadata: Map<string, GgufValue>;
  tensors: GgufTensorInfo[];
  tensorsByName: Map<string, GgufTensorInfo>;
  alignment: number;
  /** The raw header bytes' span [0, headerBytes): what identifies the file's layout, for fingerprints. */
  headerBytes: number;
}

export interface ReadGgufOptions {
  /** Refuse files larger than this (control vectors are small; a model picked by mistake is not read). */
  maxBytes?: number;
  /** What the caller expects, used in the size message ("a control vector"). */
  expected?: string;
}

/** Keys @huggingface/gguf puts into its metadata object beside the file's own entries. */
const PSEUDO_KEYS = new Set(['version', 'tensor_count', 'kv_count']);

export async function readGgufHeader(path: string, options: ReadGgufOptions = {}): Promise<GgufHeader> {
  const fail = (problem: string): never => {
    throw new GgufError(path, problem);
  };
  let fileSize: number;
  try {
    fileSize = statSync(path).size;
  } catch (err) {
    return fail(`cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  if (options.maxBytes !== undefined && fileSize > options.maxBytes) fail(`is ${fileSize} bytes, too large for ${options.expected ?? 'this file'} (is it a model file?)`);
  checkPreamble(path, fileSize, fail);

  const { gguf } = await import('@huggingface/gguf');
  let parsed;
  try {
    parsed = await gguf(path, { allowLocalFile: true, typedMetadata: true });
  } catch (err) {
    return fail(`is not a readable GGUF file (${(err as Error).message})`);
  }
  const version = Number(parsed.metadata.version);
  const [, headerEnd] = parsed.tensorInfoByteRange;
  // The parser reads past the end of a local file as zeros, so a truncated header parses: catch it here.
  if (headerEnd > fileSize) fail(`truncated: the header needs ${headerEnd} bytes, but the file has ${fileSize}`);

  const metadata = new Map<string, GgufValue>();
  for (const [key, entry] of Object.entries(parsed.typedMetadata) as [string, { value: unknown; type: number; subType?: number }][]) {
    if (PSEUDO_KEYS.has(key)) continue;
    metadata.set(key, toValue(entry.value, entry.type, entry.subType, `metadata "${key}"`, fail));
  }
  // A repeated key overwrites the first in the parser's object; gguf.cpp refuses such files.
  if (BigInt(metadata.size) !== BigInt(parsed.metadata.kv_count as bigint | number)) fail(`declares ${parsed.metadata.kv_count} metadata entries but holds ${metadata.size} distinct keys (a key appears twice)`);
  restoreLeadingBoms(path, headerEnd, metadata, TOKENS_KEY);

  let alignment = GGUF_DEFAULT_ALIGNMENT;
  const alignmentEntry = metadata.get('general.alignment');
  if (alignmentEntry) {
    if (alignmentEntry.type !== 'u32') fail(`general.alignment must be a u32, not ${alignmentEntry.type}`);
    alignment = (alignmentEntry as { value: number }).value;
    if (alignment === 0 || (alignment & (alignment - 1)) !== 0) fail(`general.alignment ${alignment} is not a power of two`);
  }

  const dataStart = alignUp(headerEnd, alignment);
  const tensors: GgufTensorInfo[] = [];
  const tensorsByName = new Map<string, GgufTensorInfo>();
  // Like gguf.cpp, tensors must be packed in order with each one padded to the alignment.
  let expectedOffset = 0;
  for (const info of parsed.tensorInfos) {
    const name = info.name;
    if (Buffer.byteLength(name) > MAX_TENSOR_NAME_BYTES) fail(`tensor name "${name}" is longer than ${MAX_TENSOR_NAME_BYTES} bytes`);
    if (tensorsByName.has(name)) fail(`tensor "${name}" appears twice`);
    if (info.n_dims < 1 || info.n_dims > GGML_MAX_DIMS) fail(`tensor "${name}" has ${info.n_dims} dimensions; expected 1–${GGML_MAX_DIMS}`);
    const dims = info.shape.map(Number);
    const type = ggmlTypeByCode(info.dtype);
    if (!type) fail(`tensor "${name}" has ggml type ${info.dtype}, which Persona Lens cannot read; supported: ${SUPPORTED_GGML_TYPES.join(', ')}`);
    const elements = dims.reduce((a, b) => a * b, 1);
    if (elements > fileSize * 8) fail(`tensor "${name}" has shape [${dims}], more data than the whole file holds`);
    if (dims[0] % type!.blockValues !== 0) fail(`tensor "${name}" has ${dims[0]} values per row, not a multiple of ${type!.name}'s block of ${type!.blockValues}`);
    const byteLength = ggmlByteLength(type!.name, elements);
    const offset = Number(info.offset);
    if (offset !== expectedOffset) fail(`tensor "${name}" is at data offset ${offset}, expected ${expectedOffset} (tensors are packed in order, each padded to ${alignment} bytes)`);
    const fileOffset = dataStart + offset;
    if (fileOffset + byteLength > fileSize) fail(`tensor "${name}" data (bytes ${fileOffset}–${fileOffset + byteLength}) runs past the end of the file (${fileSize} bytes): truncated download?`);
    expectedOffset = alignUp(offset + byteLength, alignment);
    const tensor = { name, dims, type: type!, fileOffset, byteLength };
    tensors.push(tensor);
    tensorsByName.set(name, tensor);
  }
  // gguf.cpp reads the last tensor's padding too, so a file without it does not load in llama.cpp.
  if (tensors.length > 0 && dataStart + expectedOffset > fileSize) fail(`truncated: the padded data section ends at byte ${dataStart + expectedOffset}, but the file ends at ${fileSize}`);
  return { path, version, fileSize, metadata, tensors, tensorsByName, alignment, headerBytes: headerEnd };
}

const TOKENS_KEY = 'tokenizer.ggml.tokens';

/**
 * @huggingface/gguf decodes strings with a default `TextDecoder`, which drops a leading U+FEFF. In a vocabulary that
 * loses tokens: Gemma's has "\uFEFF//" beside "//", which would read as the same token twice (llama.cpp keeps the
 * bytes as they are). So the string array under `key` is found by walking the metadata section entry by entry (every
 * value skipped by its type, as gguf.cpp reads them: a byte pattern could also sit inside an earlier string value),
 * and every item whose bytes start with EF BB BF is decoded again with the BOM kept. Every item is bounds-checked
 * and must have the byte length of the parser's item, so bytes that are not the array the parser read are refused.
 */
function restoreLeadingBoms(path: string, headerEnd: number, metadata: Map<string, GgufValue>, key: string): void {
  const entry = metadata.get(key);
  if (entry?.type !== 'array' || entry.elementType !== 'string') return;
  const items = entry.items as { type: 'string'; value: string }[];
  const header = Buffer.alloc(headerEnd);
  try {
    const fd = openSync(path, 'r');
    try {
      if (readSync(fd, header, 0, headerEnd, 0) !== headerEnd) throw new GgufError(path, 'ends inside its header (the file changed while it was read?)');
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    if (err instanceof GgufError) throw err;
    throw new GgufError(path, `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const inconsistent = (): never => {
    // The parser read this array from these bytes, so it is there unless the file is inconsistent.
    throw new GgufError(path, `metadata "${key}": its ${items.length} strings are not in the header as the parser read them (a malformed file?)`);
  };
  const at = arrayItemsOffset(header, key) ?? inconsistent();
  const decoded = decodeKeepingBoms(header, at, items) ?? inconsistent();
  decoded.forEach((value, i) => {
    if (value !== items[i].value) items[i] = { type: 'string', value };
  });
}

/**
 * Where the items of the array under `key` start (after its element type and count), found by reading the metadata
 * entries in order: magic, version, tensor count and entry count, then per entry a key, a type and a value.
 * Undefined when the bytes end early or do not hold such an entry.
 */
function arrayItemsOffset(header: Buffer, key: string): number | undefined {
  let offset = 0;
  const need = (n: number) => offset + n <= header.length;
  const u64 = (): number | undefined => {
    if (!need(8)) return undefined;
    const v = header.readBigUInt64LE(offset);
    offset += 8;
    return v <= BigInt(header.length) ? Number(v) : undefined;
  };
  const u32 = (): number | undefined => {
    if (!need(4)) return undefined;
    offset += 4;
    return header.readUInt32LE(offset - 4);
  };
  const skip = (type: number | undefined, depth = 0): boolean => {
    const name = type === undefined ? undefined : VALUE_TYPES[type];
    if (!name || depth > 2) return false;
    if (name === 'string') {
      const n = u64();
      if (n === undefined || !need(n)) return false;
      offset += n;
      return true;
    }
    if (name === 'array') {
      const element = u32();
      const count = u64();
      if (element === undefined || count === undefined) return false;
      const elementName = VALUE_TYPES[element];
      if (elementName && elementName !== 'string' && elementName !== 'array') {
        if (!need(count * MIN_BYTES[elementName])) return false;
        offset += count * MIN_BYTES[elementName];
        return true;
      }
      for (let i = 0; i < count; i++) if (!skip(element, depth + 1)) return false;
      return true;
    }
    if (!need(MIN_BYTES[name])) return false;
    offset += MIN_BYTES[name];
    return true;
  };
  offset = 8; // after the magic and the version: the tensor count, then the entry count
  if (u64() === undefined) return undefined;
  const entries = u64();
  if (entries === undefined) return undefined;
  for (let e = 0; e < entries; e++) {
    const keyLength = u64();
    if (keyLength === undefined || !need(keyLength)) return undefined;
    const name = header.toString('utf8', offset, offset + keyLength);
    offset += keyLength;
    const type = u32();
    if (name === key) {
      if (type === undefined || VALUE_TYPES[type] !== 'array' || u32() === undefined || u64() === undefined) return undefined;
      return offset;
    }
    if (!skip(type)) return undefined;
  }
  return undefined;
}

/** The strings at `offset` decoded with a leading U+FEFF kept, or undefined unless they are `items` (BOMs aside). */
function decodeKeepingBoms(header: Buffer, offset: number, items: readonly { value: string }[]): string[] | undefined {
  const keepBom = new TextDecoder('utf-8', { ignoreBOM: true });
  const out: string[] = [];
  for (const item of items) {
    if (offset + 8 > header.length) return undefined;
    const length = header.readBigUInt64LE(offset);
    offset += 8;
    if (length > BigInt(header.length - offset)) return undefined;
    const n = Number(length);
    // Only an item that starts with EF BB BF needs decoding again; every other must have the parser's item's length.
    const bom = n >= 3 && header[offset] === 0xef && header[offset + 1] === 0xbb && header[offset + 2] === 0xbf;
    if (bom) {
      const value = keepBom.decode(header.subarray(offset, offset + n));
      if (value.slice(1) !== item.value) return undefined;
      out.push(value);
    } else {
      // Invalid UTF-8 decodes to U+FFFD, which has another length: only then compare the decoded text.
      if (Buffer.byteLength(item.value, 'utf8') !== n && keepBom.decode(header.subarray(offset, offset + n)) !== item.value) return undefined;
      out.push(item.value);
    }
    offset += n;
  }
  return out;
}

/** Magic, version and byte order from the first 8 bytes, for messages more precise than the parser's. */
function checkPreamble(path: string, fileSize: number, fail: (problem: string) => never): void {
  const head = Buffer.alloc(8);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, head, 0, 8, 0);
  } finally {
    closeSync(fd);
  }
  if (fileSize < 8) fail(`truncated: a GGUF file starts with 8 header bytes, but this one has ${fileSize}`);
  if (head.toString('latin1', 0, 4) !== 'GGUF') fail(`not a GGUF file (starts with 0x${head.subarray(0, 4).toString('hex')}, not "GGUF")`);
  const version = head.readUInt32LE(4);
  if ((version & 0xffff) === 0 && version !== 0) fail('is a big-endian GGUF; only little-endian files are supported');
  // gguf.cpp reads v2 and v3 (v1 used 32-bit sizes and is long gone).
  if (version !== 2 && version !== 3) fail(`unsupported GGUF version ${version}; versions 2 and 3 are supported`);
}

/** @huggingface/gguf's typed metadata entry → our tagged value (element types kept, so callers can check them). */
function toValue(value: unknown, typeCode: number, subTypeCode: number | undefined, what: string, fail: (problem: string) => never): GgufValue {
  const type = VALUE_TYPES[typeCode];
  if (type === undefined) return fail(`${what} has unknown value type ${typeCode}`);
  if (type === 'array') {
    const elementType = subTypeCode === undefined ? undefined : VALUE_TYPES[subTypeCode];
    // gguf.cpp has no arrays of arrays either.
    if (elementType === 'array') return fail(`${what} is an array of arrays, which GGUF readers do not support`);
    if (elementType === undefined || !Array.isArray(value)) return fail(`${what} has unknown element type ${subTypeCode}`);
    return { type, elementType, items: value.map((item) => element(item, elementType)) };
  }
  return element(value, type);
}

function element(value: unknown, type: GgufElementType): GgufValue {
  switch (type) {
    case 'u64': case 'i64': return { type, value: BigInt(value as bigint) };
    case 'bool': return { type, value: Boolean(value) };
    case 'string': return { type, value: String(value) };
    default: return { type, value: Number(value) };
  }
}

/**
 * Reads a tensor's raw bytes, or `count` of its rows (dims[0] values each) from row `first`. Positioned reads, so
 * only those bytes are in memory.
 */
export function readGgufTensorBytes(header: GgufHeader, tensor: GgufTensorInfo, first = 0, count?: number): Uint8Array {
  const rowBytes = ggmlByteLength(tensor.type.name, tensor.dims[0]);
  const rows = tensor.byteLength / rowBytes;
  const n = count ?? rows - first;
  if (first < 0 || n < 0 || first + n > rows) throw new RangeError(`rows ${first}..${first + n} are outside tensor "${tensor.name}" (${rows} rows)`);
  const out = new Uint8Array(n * rowBytes);
  const fd = openSync(header.path, 'r');
  try {
    let done = 0;
    while (done < out.length) {
      const read = readSync(fd, out, done, out.length - done, tensor.fileOffset + first * rowBytes + done);
      if (read === 0) throw new GgufError(header.path, `tensor "${tensor.name}" ends early (the file changed while it was read?)`);
      done += read;
    }
  } finally {
    closeSync(fd);
  }
  return out;
}

// ——— typed metadata access, with messages naming the key ———

export function metadataString(header: GgufHeader, key: string, required: true): string;
export function metadataString(header: GgufHeader, key: string, required?: false): string | undefined;
export function metadataString(header: GgufHeader, key: string, required = false): string | undefined {
  const entry = header.metadata.get(key);
  if (!entry) {
    if (required) throw new GgufError(header.path, `metadata "${key}" is missing`);
    return undefined;
  }
  if (entry.type !== 'string') throw new GgufError(header.path, `metadata "${key}" must be a string, not ${entry.type}`);
  return entry.value;
}

const NUMERIC = new Set(['u8', 'i8', 'u16', 'i16', 'u32', 'i32', 'u64', 'i64', 'f32', 'f64']);

export function metadataNumber(header: GgufHeader, key: string, required: true): number;
export function metadataNumber(header: GgufHeader, key: string, required?: false): number | undefined;
export function metadataNumber(header: GgufHeader, key: string, required = false): number | undefined {
  const entry = header.metadata.get(key);
  if (!entry) {
    if (required) throw new GgufError(header.path, `metadata "${key}" is missing`);
    return undefined;
  }
  if (!NUMERIC.has(entry.type)) throw new GgufError(header.path, `metadata "${key}" must be a number, not ${entry.type}`);
  const value = Number((entry as { value: number | bigint }).value);
  if (!Number.isFinite(value)) throw new GgufError(header.path, `metadata "${key}" is ${value}, not a finite number`);
  return value;
}

export function metadataBool(header: GgufHeader, key: string): boolean | undefined {
  const entry = header.metadata.get(key);
  if (!entry) return undefined;
  if (entry.type !== 'bool') throw new GgufError(header.path, `metadata "${key}" must be a bool, not ${entry.type}`);
  return entry.value;
}
