/**
 * safetensors reading and writing. Headers are validated before any tensor is touched (hostile or corrupt files
 * get a clear error naming the file); tensors are read one at a time through a file handle, never the whole file.
 */
import { openSync, readSync, closeSync, fstatSync } from 'node:fs';
import { fileError, writeFileAtomic } from '../io/userFiles';

export type SafetensorsDType = 'F32' | 'F16' | 'BF16' | 'F64' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

const BYTES: Record<SafetensorsDType, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

/** Largest header we accept: real headers are kilobytes to a few megabytes. */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

export interface TensorInfo {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  /** Byte offset of the tensor's data from the start of the file. */
  fileOffset: number;
  byteLength: number;
}

export interface SafetensorsHeader {
  path: string;
  fileSize: number;
  tensors: Map<string, TensorInfo>;
  metadata: Record<string, string>;
}

export class SafetensorsError extends Error {
  constructor(readonly path: string, problem: string) {
    super(`${path}: ${problem}`);
    this.name = 'SafetensorsError';
  }
}

export function readSafetensorsHeader(path: string): SafetensorsHeader {
  let fd: number;
  try {
    fd = openSync(path, 'r');
    if (fstatSync(fd).isDirectory()) throw new SafetensorsError(path, 'is a folder, not a safetensors file');
  } catch (err) {
    if (err instanceof SafetensorsError) throw err;
    throw fileError(err, path, 'read');
  }
  try {
    const fileSize = fstatSync(fd).size;
    if (fileSize < 8) throw new SafetensorsError(path, `file is ${fileSize} bytes, too short for a safetensors header (truncated download?)`);
    const lenBuf = Buffer.alloc(8);
    readSync(fd, lenBuf, 0, 8, 0);
    const headerLen = Number(lenBuf.readBigUInt64LE(0));
    if (headerLen > MAX_HEADER_BYTES) throw new SafetensorsError(path, `header claims ${headerLen} bytes, which is absurd (corrupt or not a safetensors file)`);
    if (8 + headerLen > fileSize) throw new SafetensorsError(path, `header of ${headerLen} bytes runs past the end of the ${fileSize}-byte file (truncated?)`);
    const headerBuf = Buffer.alloc(headerLen);
    readSync(fd, headerBuf, 0, headerLen, 8);
    let parsed: unknown;
    try {
      parsed = JSON.parse(headerBuf.toString('utf8'));
    } catch {
      throw new SafetensorsError(path, 'header is not valid JSON (corrupt file)');
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new SafetensorsError(path, 'header is not a JSON object');
    const dataStart = 8 + headerLen;
    const dataSize = fileSize - dataStart;
    const tensors = new Map<string, TensorInfo>();
    let metadata: Record<string, string> = {};
    for (const [name, raw] of Object.entries(parsed as Record<string, unknown>)) {
      if (name === '__metadata__') {
        if (typeof raw === 'object' && raw !== null) metadata = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, String(v)]));
        continue;
      }
      tensors.set(name, validateEntry(path, name, raw, dataStart, dataSize));
    }
    // Two tensors sharing bytes would alias each other's data (a crafted file); real writers never overlap.
    const spans = [...tensors.values()].filter((t) => t.byteLength > 0).sort((a, b) => a.fileOffset - b.fileOffset);
    for (let i = 1; i < spans.length; i++) {
      const prev = spans[i - 1];
      if (spans[i].fileOffset < prev.fileOffset + prev.byteLength) throw new SafetensorsError(path, `tensors "${prev.name}" and "${spans[i].name}" overlap in data_offsets (corrupt or crafted file)`);
    }
    return { path, fileSize, tensors, metadata };
  } finally {
    closeSync(fd);
  }
}

function validateEntry(path: string, name: string, raw: unknown, dataStart: number, dataSize: number): TensorInfo {
  const bad = (why: string) => new SafetensorsError(path, `tensor "${name}": ${why}`);
  if (typeof raw !== 'object' || raw === null) throw bad('entry is not an object');
  const { dtype, shape, data_offsets: offsets } = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
  if (typeof dtype !== 'string' || !(dtype in BYTES)) throw bad(`unsupported dtype ${JSON.stringify(dtype)}`);
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw bad('shape is not a list of non-negative integers');
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) throw bad('data_offsets is not [begin, end]');
  const [begin, end] = offsets as number[];
  if (end < begin) throw bad(`data_offsets end ${end} is before begin ${begin}`);
  if (end > dataSize) throw bad(`data ends at byte ${end} but the file holds only ${dataSize} data bytes (truncated or corrupt)`);
  const elements = (shape as number[]).reduce((a, b) => a * b, 1);
  const expected = elements * BYTES[dtype as SafetensorsDType];
  if (end - begin !== expected) throw bad(`holds ${end - begin} bytes but ${dtype}${JSON.stringify(shape)} needs ${expected}`);
  return { name, dtype: dtype as SafetensorsDType, shape: shape as number[], fileOffset: dataStart + begin, byteLength: expected };
}

/** Reads one tensor's raw bytes. */
export function readTensorBytes(path: string, info: TensorInfo): Buffer {
  return readTensorRange(path, info, 0, info.byteLength);
}

/** Rows [first, first + count) of a tensor whose first axis is rows, as raw bytes (a big tensor in pieces). */
export function readTensorRows(path: string, info: TensorInfo, first: number, count: number): Buffer {
  const rowBytes = info.byteLength / (info.shape[0] || 1);
  return readTensorRange(path, info, first * rowBytes, count * rowBytes);
}

function readTensorRange(path: string, info: TensorInfo, start: number, length: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const n = readSync(fd, buf, done, length - done, info.fileOffset + start + done);
      if (n === 0) throw new SafetensorsError(path, `unexpected end of file reading "${info.name}"`);
      done += n;
    }
    return buf;
  } finally {
    closeSync(fd);
  }
}

/** The index of the first NaN or ±Inf, or -1. */
export function firstNonFinite(values: Float32Array): number {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) return i;
  return -1;
}

/** Converts raw tensor bytes of a floating dtype to float32. */
export function toFloat32(bytes: Buffer, dtype: SafetensorsDType): Float32Array {
  switch (dtype) {
    case 'F32':
      return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    case 'F16': {
      const table = halfTable();
      const out = new Float32Array(bytes.byteLength / 2);
      for (let i = 0; i < out.length; i++) out[i] = table[bytes[2 * i] | (bytes[2 * i + 1] << 8)];
      return out;
    }
    case 'BF16': {
      const out = new Float32Array(bytes.byteLength / 2);
      const u32 = new Uint32Array(out.buffer);
      for (let i = 0; i < out.length; i++) u32[i] = ((bytes[2 * i] | (bytes[2 * i + 1] << 8)) << 16) >>> 0;
      return out;
    }
    case 'F64': {
      const out = new Float32Array(bytes.byteLength / 8);
      for (let i = 0; i < out.length; i++) out[i] = bytes.readDoubleLE(i * 8);
      return out;
    }
    default:
      throw new Error(`dtype ${dtype} is not a floating-point type`);
  }
}

let halfLookup: Float32Array | undefined;
/** All 65536 float16 values as float32: conversion becomes one lookup per element. */
function halfTable(): Float32Array {
  if (!halfLookup) {
    halfLookup = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) halfLookup[h] = halfToFloat(h);
  }
  return halfLookup;
}

export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** Round-to-nearest-even float32 → float16 bits (for writing F16 fixtures and exports). */
export function floatToHalf(value: number): number {
  const f = new Float32Array([value]);
  const x = new Uint32Array(f.buffer)[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
  return sign | half;
}

/** Round-to-nearest-even float32 → bfloat16 bits. */
export function floatToBfloat16(value: number): number {
  const x = new Uint32Array(new Float32Array([value]).buffer)[0];
  if ((x & 0x7f800000) === 0x7f800000 && x & 0x7fffff) return (x >>> 16) | 0x40;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

export interface TensorToWrite {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  data: Uint8Array | Float32Array | BigInt64Array | Int32Array | Uint16Array;
}

/** Writes a safetensors file (header padded to 8 bytes, tensors in the given order). */
export function writeSafetensors(path: string, tensors: TensorToWrite[], metadata?: Record<string, string>): void {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const t of tensors) {
    const expected = t.shape.reduce((a, b) => a * b, 1) * BYTES[t.dtype];
    if (t.data.byteLength !== expected) throw new Error(`writeSafetensors: "${t.name}" has ${t.data.byteLength} bytes, ${t.dtype}${JSON.stringify(t.shape)} needs ${expected}`);
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + expected] };
    offset += expected;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const out = Buffer.allocUnsafe(8 + headerBytes.length + offset);
  out.writeBigUInt64LE(BigInt(headerBytes.length), 0);
  headerBytes.copy(out, 8);
  let pos = 8 + headerBytes.length;
  for (const t of tensors) {
    Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).copy(out, pos);
    pos += t.data.byteLength;
  }
  writeFileAtomic(path, out);
}
