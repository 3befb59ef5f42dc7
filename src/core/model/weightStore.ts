/**
 * Prepares the files onnxruntime loads: a cache folder (never the user's model folder) holding model.onnx and
 * the float32 weights it points to through ONNX external data.
 * - A shard whose tensors are all F32 is cloned into the cache folder (a copy-on-write reflink where the
 *   filesystem has them, else a plain copy). Not a hard link: onnxruntime memory-maps external data, and a trainer
 *   that rewrites model.safetensors in place (as save_pretrained does) would change or truncate the mapped file
 *   under a running engine (SIGBUS, measured). onnxruntime also refuses absolute paths and symlinks leaving the
 *   .onnx folder, so the weights must live beside the graph.
 * - F16/BF16 tensors are converted to float32 one at a time into weights.bin, so memory stays at one tensor.
 * - At int8 / int4 (quantize.ts) the linear weights and embeddings are quantized into weights.bin instead.
 * - A LoRA adapter's merged tensors go to weights.bin the same way (the cache key includes the adapter).
 * The folder is keyed by the checkpoint fingerprint and graph version; model.onnx is written last (atomically),
 * so an interrupted preparation is redone, and a finished one is reused at once.
 */
import { closeSync, constants, copyFileSync, existsSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Checkpoint, WeightRef } from './checkpoint';
import { CheckpointError, lmHeadName, weightNames } from './checkpoint';
import { firstNonFinite, readTensorBytes, toFloat32 } from './safetensors';
import { writeFileAtomic } from '../io/userFiles';
import { mergedTensor, type LoraAdapter } from './loraAdapter';
import { buildDecoderGraph, DECODER_GRAPH_VERSION, type StoredWeight } from './decoderGraph';
import { bitsOf, GGML_BLOCK, QUANTIZER_VERSION, quantizedShapes, quantizeRows } from './quantize';
import type { WeightPrecision } from './weightPrecision';

/** Alignment of tensors in weights.bin, so onnxruntime may memory-map them. */
const ALIGN = 64 * 1024;

export function defaultCacheRoot(): string {
  if (process.env.PERSONA_LENS_CACHE) return process.env.PERSONA_LENS_CACHE;
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'persona-lens');
}

export interface PreparedModel {
  onnxPath: string;
  folder: string;
  /** How the weights reached the cache: cloned F32 shards, converted float32 tensors, or both. */
  clonedShards: number;
  convertedTensors: number;
  reused: boolean;
}

/**
 * With an adapter, its merged tensors (W + s·B·A) are written to weights.bin; the base's files stay untouched.
 * The caller's checkpoint fingerprint must then identify base + adapter and the precision (loadModel does this).
 * At int8 / int4 every linear weight (attention, MLP, lm_head) and the embeddings are quantized into MatMulNBits
 * blocks in pieces of rows, so memory stays at one piece; norms and biases stay float32.
 * `progress` hears of each tensor checked or written (this runs synchronously: it reports, it cannot be cancelled).
 */
export function prepareModelFiles(ckpt: Checkpoint, cacheRoot = defaultCacheRoot(), adapter?: LoraAdapter, precision: WeightPrecision = 'f32', progress?: (done: number, total: number, message: string) => void): PreparedModel {
  const folder = path.join(cacheRoot, 'models', `${ckpt.fingerprint}-g${DECODER_GRAPH_VERSION}${precision === 'f32' ? '' : `-q${QUANTIZER_VERSION}`}`);
  const onnxPath = path.join(folder, 'model.onnx');
  if (existsSync(onnxPath)) return { onnxPath, folder, clonedShards: 0, convertedTensors: 0, reused: true };
  rmSync(folder, { recursive: true, force: true });
  mkdirSync(folder, { recursive: true });

  const stored = new Map<string, StoredWeight>();
  let clonedShards = 0;
  // Float32 shards are cloned as they are (only at f32: quantized weights are written anew).
  const cloned = ckpt.shards.map((shard) => precision === 'f32' && [...shard.tensors.values()].every((t) => t.dtype === 'F32'));
  const clonedNames = new Set(ckpt.shards.flatMap((shard, i) => (cloned[i] ? [...shard.tensors.keys()] : [])));
  // Tensors without a cloned shard (GGUF files, and safetensors tensors not cloned) are written to weights.bin.
  const adapted = new Set(adapter ? [...adapter.deltas.keys(), ...adapter.replacements.keys()] : []);
  const toWrite = [...new Set([...ckpt.shards.flatMap((shard, i) => (cloned[i] ? [] : [...shard.tensors.keys()])), ...[...ckpt.weights.keys()].filter((n) => !clonedNames.has(n)), ...adapted])];
  const quantized = new Set(precision === 'f32' ? [] : quantizedWeightNames(ckpt));
  const totalTensors = clonedNames.size + toWrite.length;
  let doneTensors = 0;
  const report = () => progress?.(++doneTensors, totalTensors, `preparing ${ckpt.displayName} (${precision}): ${doneTensors}/${totalTensors} tensors`);

  ckpt.shards.forEach((shard, i) => {
    if (!cloned[i]) return;
    const cloneName = `shard-${i}.safetensors`;
    copyFileSync(shard.path, path.join(folder, cloneName), constants.COPYFILE_FICLONE);
    clonedShards++;
    for (const [name, info] of shard.tensors) {
      // Checked in the clone (what onnxruntime will map), one tensor in memory at a time.
      checkFinite(toFloat32(readTensorBytes(path.join(folder, cloneName), info), 'F32'), name, shard.path, folder);
      stored.set(name, { kind: 'f32', location: cloneName, offset: info.fileOffset, length: info.byteLength, shape: info.shape });
      report();
    }
  });

  if (toWrite.length > 0) {
    const out = new AlignedWriter(path.join(folder, 'weights.bin'));
    try {
      for (const name of toWrite) {
        const ref = ckpt.weights.get(name)!;
        // A merged LoRA tensor exists whole; a checkpoint tensor is read in pieces of rows.
        const merged = adapted.has(name) ? mergedTensor(adapter!, name, () => ref.readRows(0, ref.shape[0])) : undefined;
        const pieces = merged ? [{ first: 0, values: merged }] : rowPieces(ref);
        if (quantized.has(name) && precision !== 'f32') {
          const bits = storedBits(ckpt, name, precision);
          const shape = ref.shape as [number, number];
          // GGUF Q8_0 / Q4_0 rows are already MatMulNBits blocks: copied exactly, never requantized.
          const exact = !merged && ref.exactBlocks?.bits === bits ? ref.exactBlocks : undefined;
          stored.set(name, exact ? writeExactBlocks(out, name, shape, exact, ref.file, folder) : writeBlocks(out, name, shape, bits, pieces, ref.file, folder));
        } else {
          const start = out.begin();
          for (const piece of pieces) {
            checkFinite(piece.values, name, ref.file, folder);
            out.write(piece.values);
          }
          stored.set(name, { kind: 'f32', location: 'weights.bin', offset: start, length: out.offset - start, shape: ref.shape });
        }
        report();
      }
    } finally {
      out.close();
    }
  }

  const graph = buildDecoderGraph(
    ckpt.spec,
    (name) => {
      const loc = stored.get(name);
      if (!loc) throw new Error(`weight ${name} was not prepared`);
      return loc;
    },
    lmHeadName(ckpt),
  );
  writeFileAtomic(onnxPath, graph);
  return { onnxPath, folder, clonedShards, convertedTensors: toWrite.length, reused: false };
}

/** The weights stored as blocks at int8 / int4: every linear weight, the lm_head and the embeddings. */
export function quantizedWeightNames(ckpt: Pick<Checkpoint, 'spec' | 'weights'>): string[] {
  const names = ['model.embed_tokens.weight', lmHeadName(ckpt)];
  for (let l = 0; l < ckpt.spec.numLayers; l++) {
    const n = weightNames(ckpt.spec, l);
    const projections = ckpt.spec.fusedProjections ? [n.qkv, n.o, n.gateUp, n.down] : [n.q, n.k, n.v, n.o, n.gate, n.up, n.down];
    for (const p of projections) names.push(`${p}.weight`);
  }
  return [...new Set(names)];
}

/** The bits a quantized weight (one of quantizedWeightNames) is stored with at a precision. */
export function storedBits(ckpt: Pick<Checkpoint, 'spec' | 'weights'>, name: string, precision: Exclude<WeightPrecision, 'f32'>): 4 | 8 {
  // Untied embeddings are only gathered: int8 costs no speed and keeps row 0 exact (quantize.ts).
  return name === 'model.embed_tokens.weight' && lmHeadName(ckpt) !== name ? 8 : bitsOf(precision);
}

/** About this many values per piece read, converted and quantized at a time. */
const PIECE_VALUES = 1 << 22;

function* rowPieces(ref: WeightRef): Generator<{ first: number; values: Float32Array }> {
  if (ref.shape.length <= 1) {
    yield { first: 0, values: ref.readRows(0, 1) };
    return;
  }
  const rows = ref.shape[0];
  const perRow = ref.shape.slice(1).reduce((a, b) => a * b, 1);
  const step = Math.max(1, Math.floor(PIECE_VALUES / Math.max(1, perRow)));
  for (let first = 0; first < rows; first += step) yield { first, values: ref.readRows(first, Math.min(step, rows - first)) };
}

/** Quantizes a [N, K] weight piece by piece: all packed blocks, then all scales. */
function writeBlocks(out: AlignedWriter, name: string, shape: [number, number], bits: 4 | 8, pieces: Iterable<{ first: number; values: Float32Array }>, file: string, folder: string): StoredWeight {
  const [n, k] = shape;
  const q = quantizedShapes(n, k, bits);
  const scales = new Float32Array(n * q.blocks);
  const packedStart = out.begin();
  for (const piece of pieces) {
    checkFinite(piece.values, name, file, folder);
    const rows = piece.values.length / k;
    const packed = new Uint8Array(rows * q.blocks * q.blobBytes);
    quantizeRows(piece.values, rows, k, bits, packed, scales.subarray(piece.first * q.blocks, (piece.first + rows) * q.blocks));
    out.write(packed);
  }
  const packedLength = out.offset - packedStart;
  const scalesStart = out.begin();
  out.write(scales);
  return {
    kind: 'blocks',
    bits,
    block: q.block,
    shape,
    packed: { location: 'weights.bin', offset: packedStart, length: packedLength, shape: q.packed },
    scales: { location: 'weights.bin', offset: scalesStart, length: scales.byteLength, shape: q.scales },
  };
}

/** Copies rows the file already stores as MatMulNBits blocks (exact), piece by piece. */
function writeExactBlocks(out: AlignedWriter, name: string, shape: [number, number], exact: NonNullable<WeightRef['exactBlocks']>, file: string, folder: string): StoredWeight {
  const [n, k] = shape;
  const q = quantizedShapes(n, k, exact.bits, GGML_BLOCK);
  const scales = new Float32Array(n * q.blocks);
  const step = Math.max(1, Math.floor(PIECE_VALUES / k));
  const packedStart = out.begin();
  for (let first = 0; first < n; first += step) {
    const rows = Math.min(step, n - first);
    const packed = new Uint8Array(rows * q.blocks * q.blobBytes);
    exact.readRows(first, rows, packed, scales.subarray(first * q.blocks, (first + rows) * q.blocks));
    out.write(packed);
  }
  // A NaN / Inf block scale would poison every row it touches.
  checkFinite(scales, `${name} (block scales)`, file, folder);
  const packedLength = out.offset - packedStart;
  const scalesStart = out.begin();
  out.write(scales);
  return {
    kind: 'blocks',
    bits: exact.bits,
    block: q.block,
    shape,
    packed: { location: 'weights.bin', offset: packedStart, length: packedLength, shape: q.packed },
    scales: { location: 'weights.bin', offset: scalesStart, length: scales.byteLength, shape: q.scales },
  };
}

/** Appends tensors to weights.bin, each starting on an ALIGN boundary so onnxruntime may memory-map it. */
class AlignedWriter {
  private readonly fd: number;
  offset = 0;

  constructor(file: string) {
    this.fd = openSync(file, 'w');
  }

  /** Pads to the next boundary; returns where the next tensor starts. */
  begin(): number {
    const padded = Math.ceil(this.offset / ALIGN) * ALIGN;
    if (padded > this.offset) writeSync(this.fd, Buffer.alloc(padded - this.offset), 0, padded - this.offset, this.offset);
    this.offset = padded;
    return padded;
  }

  write(data: Float32Array | Uint8Array): void {
    writeSync(this.fd, Buffer.from(data.buffer, data.byteOffset, data.byteLength), 0, data.byteLength, this.offset);
    this.offset += data.byteLength;
  }

  close(): void {
    closeSync(this.fd);
  }
}

/** NaN/Inf in a weight makes every forward pass NaN: refused while preparing, naming the tensor. */
function checkFinite(data: Float32Array, name: string, file: string, folder: string): void {
  const at = firstNonFinite(data);
  if (at < 0) return;
  rmSync(folder, { recursive: true, force: true });
  throw new CheckpointError(`${file}: weight "${name}" holds ${data[at]} at element ${at}; a model with NaN or Inf weights cannot run (re-download or re-save the checkpoint)`);
}
