/**
 * Prepares the files onnxruntime loads: a cache folder (never the user's model folder) holding model.onnx and
 * the float32 weights it points to through ONNX external data.
 * - A shard whose tensors are all F32 is cloned into the cache folder (a copy-on-write reflink where the
 *   filesystem has them, else a plain copy). Not a hard link: onnxruntime memory-maps external data, and a trainer
 *   that rewrites model.safetensors in place (as save_pretrained does) would change or truncate the mapped file
 *   under a running engine (SIGBUS, measured). onnxruntime also refuses absolute paths and symlinks leaving the
 *   .onnx folder, so the weights must live beside the graph.
 * - F16/BF16 tensors are converted to float32 one at a time into weights.bin, so memory stays at one tensor.
 * - A LoRA adapter's merged tensors go to weights.bin the same way (the cache key includes the adapter).
 * The folder is keyed by the checkpoint fingerprint and graph version; model.onnx is written last (atomically),
 * so an interrupted preparation is redone, and a finished one is reused at once.
 */
import { closeSync, constants, copyFileSync, existsSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Checkpoint } from './checkpoint';
import { CheckpointError, lmHeadName } from './checkpoint';
import { firstNonFinite, readTensorBytes, toFloat32 } from './safetensors';
import { writeFileAtomic } from '../io/userFiles';
import { mergedTensor, type LoraAdapter } from './loraAdapter';
import { buildDecoderGraph, DECODER_GRAPH_VERSION, type WeightLocation } from './decoderGraph';

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
 * The caller's checkpoint fingerprint must then identify base + adapter (loadModel does this).
 */
export function prepareModelFiles(ckpt: Checkpoint, cacheRoot = defaultCacheRoot(), adapter?: LoraAdapter): PreparedModel {
  const folder = path.join(cacheRoot, 'models', `${ckpt.fingerprint}-g${DECODER_GRAPH_VERSION}`);
  const onnxPath = path.join(folder, 'model.onnx');
  if (existsSync(onnxPath)) return { onnxPath, folder, clonedShards: 0, convertedTensors: 0, reused: true };
  rmSync(folder, { recursive: true, force: true });
  mkdirSync(folder, { recursive: true });

  const locations = new Map<string, WeightLocation>();
  let clonedShards = 0;
  const toConvert: string[] = [];
  ckpt.shards.forEach((shard, i) => {
    const allF32 = [...shard.tensors.values()].every((t) => t.dtype === 'F32');
    const cloneName = `shard-${i}.safetensors`;
    if (allF32) {
      copyFileSync(shard.path, path.join(folder, cloneName), constants.COPYFILE_FICLONE);
      clonedShards++;
      for (const [name, info] of shard.tensors) {
        // Checked in the clone (what onnxruntime will map), one tensor in memory at a time.
        checkFinite(toFloat32(readTensorBytes(path.join(folder, cloneName), info), 'F32'), name, shard.path, folder);
        locations.set(name, { location: cloneName, offset: info.fileOffset, length: info.byteLength, shape: info.shape });
      }
    } else {
      toConvert.push(...shard.tensors.keys());
    }
  });

  const adapted = adapter ? [...adapter.deltas.keys(), ...adapter.replacements.keys()] : [];
  for (const name of adapted) if (!toConvert.includes(name)) toConvert.push(name);

  if (toConvert.length > 0) {
    const fd = openSync(path.join(folder, 'weights.bin'), 'w');
    try {
      let offset = 0;
      for (const name of toConvert) {
        const ref = ckpt.weights.get(name)!;
        const base = () => toFloat32(readTensorBytes(ref.file, ref.info), ref.info.dtype);
        const data = (adapter && mergedTensor(adapter, name, base)) ?? base();
        checkFinite(data, name, ref.file, folder);
        const padded = Math.ceil(offset / ALIGN) * ALIGN;
        if (padded > offset) writeSync(fd, Buffer.alloc(padded - offset), 0, padded - offset, offset);
        writeSync(fd, Buffer.from(data.buffer, data.byteOffset, data.byteLength), 0, data.byteLength, padded);
        locations.set(name, { location: 'weights.bin', offset: padded, length: data.byteLength, shape: ref.info.shape });
        offset = padded + data.byteLength;
      }
    } finally {
      closeSync(fd);
    }
  }

  const graph = buildDecoderGraph(
    ckpt.spec,
    (name) => {
      const loc = locations.get(name);
      if (!loc) throw new Error(`weight ${name} was not prepared`);
      return loc;
    },
    lmHeadName(ckpt),
  );
  writeFileAtomic(onnxPath, graph);
  return { onnxPath, folder, clonedShards, convertedTensors: toConvert.length, reused: false };
}

/** NaN/Inf in a weight makes every forward pass NaN: refused while preparing, naming the tensor. */
function checkFinite(data: Float32Array, name: string, file: string, folder: string): void {
  const at = firstNonFinite(data);
  if (at < 0) return;
  rmSync(folder, { recursive: true, force: true });
  throw new CheckpointError(`${file}: weight "${name}" holds ${data[at]} at element ${at}; a model with NaN or Inf weights cannot run (re-download or re-save the checkpoint)`);
}
