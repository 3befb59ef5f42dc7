/** A model ready to run: checkpoint + tokenizer + onnxruntime session. The one way to load a model. */
import { assertMemoryAvailable, precisionFor, type Checkpoint } from './checkpoint';
import { loadTokenizer, openModel } from './openModel';
import type { WeightPrecision, WeightPrecisionChoice } from './weightPrecision';
import { DecoderSession } from './decoderSession';
import type { Tokenizer } from './tokenizer';
import { prepareModelFiles, defaultCacheRoot } from './weightStore';
import { QUANTIZER_VERSION } from './quantize';
import { openLoraAdapter } from './loraAdapter';
import { resolveDeviceOnce, type ResolvedDevice } from '../onnx/devices';
import type { DeviceChoice } from '../onnx/deviceChoice';
import { readFileSync, existsSync, rmSync } from 'node:fs';
import * as path from 'node:path';

export interface LoadedModel {
  /** Its fingerprint identifies the weights as run: checkpoint, adapter and precision (every cache keys on it). */
  checkpoint: Checkpoint;
  /** How the weights are stored (resolved from the `weights` option). */
  precision: WeightPrecision;
  session: DecoderSession;
  /** The device the session runs on, and why (the `device` option resolved). */
  device: ResolvedDevice;
  tokenizer: Tokenizer;
  /** EOS ids from config.json or the GGUF metadata, and generation_config.json. */
  eosTokenIds: number[];
}

export interface LoadOptions {
  cacheRoot?: string;
  threads?: number;
  /** A PEFT LoRA adapter folder, merged into the weights at load (the tokenizer comes from `dir`). */
  adapter?: string;
  /** Weight precision (default `auto`, see resolvePrecision). */
  weights?: WeightPrecisionChoice;
  /** Where the graph runs (default `auto`, see resolveDevice); resolved before the weights are prepared. */
  device?: DeviceChoice;
  /** Hears about cache entries discarded and rebuilt. */
  log?: (line: string) => void;
  /** Hears how far preparing the weights (the first load of a model at a precision) has come. */
  progress?: (done: number, total: number, message: string) => void;
}

/**
 * The fingerprint of weights as the engine runs them: the checkpoint's, then the adapter's, and the precision with
 * the quantizer's version when not f32 (another quantizer stores other weights). Vector files and every cache
 * record it (rollouts, activations, screening).
 */
export function runFingerprint(checkpointFingerprint: string, precision: WeightPrecision, adapterFingerprint?: string): string {
  return `${checkpointFingerprint}${adapterFingerprint ? `-lora-${adapterFingerprint}` : ''}${precision === 'f32' ? '' : `-${precision}-q${QUANTIZER_VERSION}`}`;
}

/** `modelPath`: a checkpoint folder, a .gguf file or ollama:NAME[:TAG] (openModel). */
export async function loadModel(modelPath: string, options: LoadOptions = {}): Promise<LoadedModel> {
  const base = await openModel(modelPath);
  const precision = precisionFor(base.spec, options.weights);
  assertMemoryAvailable(modelPath, base.spec, precision);
  const adapter = options.adapter ? openLoraAdapter(options.adapter, new Map([...base.weights].map(([name, ref]) => [name, ref.shape]))) : undefined;
  // Base + adapter, or the same weights quantized, is another model: every cache keyed by the fingerprint (graph,
  // rollouts, screening) must say so. The adapter merges before quantization.
  const checkpoint = { ...base, fingerprint: runFingerprint(base.fingerprint, precision, adapter?.fingerprint) };
  // Before the (long) first preparation of the weights, so an explicit device that fails says so at once.
  const device = await resolveDeviceOnce(options.device ?? 'auto');
  options.log?.(`device: ${device.device} (${device.reason})`);
  const sessionOptions = { threads: options.threads, device: device.device };
  const tokenizer = await loadTokenizer(base);
  const cacheRoot = options.cacheRoot ?? defaultCacheRoot();
  let prepared = prepareModelFiles(checkpoint, cacheRoot, adapter, precision, options.progress);
  let session: DecoderSession;
  try {
    session = await DecoderSession.create(checkpoint.spec, prepared.onnxPath, sessionOptions);
  } catch (err) {
    if (!prepared.reused) throw err;
    // A cached graph or weight file that no longer loads (truncated, disk full, edited): rebuild it once.
    options.log?.(`cache: ${prepared.folder} does not load (${(err as Error).message.split('\n')[0]}); discarded and rebuilt`);
    rmSync(prepared.folder, { recursive: true, force: true });
    prepared = prepareModelFiles(checkpoint, cacheRoot, adapter, precision, options.progress);
    session = await DecoderSession.create(checkpoint.spec, prepared.onnxPath, sessionOptions);
  }
  return { checkpoint, precision, session, device, tokenizer, eosTokenIds: eosIds(checkpoint) };
}

/** The spec's EOS ids (config.json or GGUF metadata) and, for a folder, generation_config.json's. */
function eosIds(checkpoint: Checkpoint): number[] {
  const ids = new Set(checkpoint.spec.eosTokenIds);
  const genPath = path.join(checkpoint.path, 'generation_config.json');
  if (checkpoint.format === 'safetensors' && existsSync(genPath)) {
    try {
      const gen = JSON.parse(readFileSync(genPath, 'utf8'));
      for (const id of [gen.eos_token_id].flat()) if (typeof id === 'number') ids.add(id);
    } catch {
      // A broken generation_config.json only loses its EOS ids; config.json's still apply.
    }
  }
  return [...ids];
}
