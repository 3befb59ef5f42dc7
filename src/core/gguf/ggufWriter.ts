/**
 * Writes GGUF v3 files: our control vectors, and (in tests and the bench) models laid out as llama.cpp's converter
 * writes them. Reading is ggufFile.ts's job.
 */
import { writeFileAtomic } from '../io/userFiles';
import { alignUp, GGML_MAX_DIMS, GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC, GGUF_VERSION, MAX_TENSOR_NAME_BYTES, MIN_BYTES, VALUE_TYPES, type GgufValue } from './ggufFormat';
import { GGML_TYPES, type GgmlTypeName } from './ggmlTypes';

export interface GgufTensor {
  name: string;
  /** ggml order: dims[0] is the innermost, contiguous dimension. */
  dims: number[];
  data: Float32Array;
}

/** A tensor already encoded as a ggml type along dims[0] (bytes in ggml's block layout). */
export interface GgufBlockTensor {
  name: string;
  dims: number[];
  ggmlType: GgmlTypeName;
  bytes: Uint8Array;
}

const INTEGER_TYPES = {
  u8: { min: 0, max: 0xff, write: 'writeUInt8' },
  i8: { min: -0x80, max: 0x7f, write: 'writeInt8' },
  u16: { min: 0, max: 0xffff, write: 'writeUInt16LE' },
  i16: { min: -0x8000, max: 0x7fff, write: 'writeInt16LE' },
  u32: { min: 0, max: 0xffffffff, write: 'writeUInt32LE' },
  i32: { min: -0x80000000, max: 0x7fffffff, write: 'writeInt32LE' },
} as const;

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
  out.raw(Buffer.from(GGUF_MAGIC, 'latin1'));
  out.u32(GGUF_VERSION);
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
    if (dims.length < 1 || dims.length > GGML_MAX_DIMS) throw new RangeError(`tensor "${name}" has ${dims.length} dimensions; GGUF allows 1–${GGML_MAX_DIMS}`);
    const count = dims.reduce((a, b) => a * b, 1);
    let type: number = GGML_TYPES.F32.code;
    let payload: Uint8Array;
    if ('data' in tensor) {
      if (count !== tensor.data.length) throw new RangeError(`tensor "${name}" has ${tensor.data.length} values but shape [${dims}]`);
      payload = new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
    } else {
      const block = GGML_TYPES[tensor.ggmlType];
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
    offset = alignUp(offset + payload.byteLength, GGUF_DEFAULT_ALIGNMENT);
  }
  out.padTo(GGUF_DEFAULT_ALIGNMENT);
  for (const payload of payloads) {
    out.raw(payload);
    out.padTo(GGUF_DEFAULT_ALIGNMENT);
  }
  writeFileAtomic(path, Buffer.concat(out.chunks, out.length));
}
