/**
 * The GGUF container format (v3, little-endian) as the reader and the writer share it: value types, the metadata
 * value union, and the limits ggml itself enforces. Spec: ggml `docs/gguf.md`; limits from `ggml.h`.
 */
export class GgufError extends Error {
  constructor(readonly path: string, problem: string) {
    super(`${path}: ${problem}`);
    this.name = 'GgufError';
  }
}

/** GGUF value types, indexed by their on-disk code. */
export const VALUE_TYPES = ['u8', 'i8', 'u16', 'i16', 'u32', 'i32', 'f32', 'bool', 'string', 'array', 'u64', 'i64', 'f64'] as const;
export type GgufValueType = (typeof VALUE_TYPES)[number];
export type GgufElementType = Exclude<GgufValueType, 'array'>;

/** Encoded size of one value of each type (a string's length prefix only). */
export const MIN_BYTES: Record<GgufElementType, number> = { u8: 1, i8: 1, u16: 2, i16: 2, u32: 4, i32: 4, f32: 4, bool: 1, string: 8, u64: 8, i64: 8, f64: 8 };

export type GgufValue =
  | { type: 'u8' | 'i8' | 'u16' | 'i16' | 'u32' | 'i32' | 'f32' | 'f64'; value: number }
  | { type: 'u64' | 'i64'; value: bigint }
  | { type: 'bool'; value: boolean }
  | { type: 'string'; value: string }
  | { type: 'array'; elementType: GgufElementType; items: GgufValue[] };

export const GGUF_MAGIC = 'GGUF';
export const GGUF_VERSION = 3;
export const GGUF_DEFAULT_ALIGNMENT = 32;
/** ggml's GGML_MAX_DIMS. */
export const GGML_MAX_DIMS = 4;
/** ggml's GGML_MAX_NAME, which counts the terminating NUL. */
export const MAX_TENSOR_NAME_BYTES = 63;

export const alignUp = (n: number, alignment: number) => Math.ceil(n / alignment) * alignment;
