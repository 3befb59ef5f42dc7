/**
 * The weights of a model as the engine reads them, whatever the file format: a Hugging Face checkpoint folder
 * (config.json, model.safetensors or sharded model-*.safetensors + model.safetensors.index.json, tokenizer files)
 * opened here, or a GGUF file (src/core/gguf/ggufModel.ts). Tensors are named and shaped as in HF transformers.
 * Everything is validated up front: pickle weights are refused (never unpickled), missing or truncated files and
 * bogus headers are named.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { parseModelConfig, parameterCount, type ModelSpec } from './config';
import { readSafetensorsHeader, readTensorBytes, readTensorRows, toFloat32, type SafetensorsHeader, type TensorInfo } from './safetensors';
import { bytesPerWeight, resolvePrecision } from './quantize';
import type { WeightPrecision, WeightPrecisionChoice } from './weightPrecision';

export class CheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckpointError';
  }
}

/** One tensor of a model, readable a piece of rows at a time (so a large tensor is never whole in memory). */
export interface WeightRef {
  /** The file holding it (named in messages). */
  file: string;
  /** Row-major shape in HF's convention ([out, in] for a linear weight). */
  shape: number[];
  /** Stored type: F32 / F16 / BF16 (safetensors) or a ggml type name (GGUF). */
  dtype: string;
  /** float32 values of rows [first, first + count) along dim 0; a 1-D tensor is one row. */
  readRows(first: number, count: number): Float32Array;
  /** Present when the file stores the rows exactly as MatMulNBits blocks of these bits, GGML_BLOCK values each (GGUF Q8_0 / Q4_0). */
  exactBlocks?: { bits: 4 | 8; readRows(first: number, count: number, packed: Uint8Array, scales: Float32Array): void };
}

export interface Checkpoint {
  /** What the user named: a checkpoint folder or a GGUF file. */
  path: string;
  format: 'safetensors' | 'gguf';
  spec: ModelSpec;
  /** Every tensor by its HF name. */
  weights: Map<string, WeightRef>;
  /** safetensors shards (F32 ones are cloned into the cache as they are); empty for GGUF. */
  shards: SafetensorsHeader[];
  /** Identifies these exact weights: hash of config/header, file names, sizes and modification times. */
  fingerprint: string;
  /** A name for the model in messages and vector metadata. */
  displayName: string;
}

/** A WeightRef over a safetensors tensor. */
export function safetensorsWeight(file: string, info: TensorInfo): WeightRef {
  return {
    file,
    shape: info.shape,
    dtype: info.dtype,
    readRows: (first, count) => (info.shape.length <= 1 ? toFloat32(readTensorBytes(file, info), info.dtype) : toFloat32(readTensorRows(file, info, first, count), info.dtype)),
  };
}

export function openCheckpoint(dir: string): Checkpoint {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new CheckpointError(`${dir} is not a folder. Choose a checkpoint folder with config.json and *.safetensors.`);
  const configPath = path.join(dir, 'config.json');
  if (!existsSync(configPath)) throw new CheckpointError(`${dir} has no config.json: is this a Hugging Face checkpoint folder?`);
  let rawConfig: Record<string, unknown>;
  try {
    rawConfig = JSON.parse(readFileSync(configPath, 'utf8'));
  } catch (err) {
    throw new CheckpointError(`${configPath} is not valid JSON (${(err as Error).message})`);
  }
  const spec = parseModelConfig(rawConfig, configPath);

  const files = readdirSync(dir);
  const shardFiles = findShards(dir, files);
  const shards = textModelView(spec, shardFiles.map((f) => readSafetensorsHeader(f)));
  const weights = new Map<string, WeightRef>();
  for (const shard of shards) for (const [name, info] of shard.tensors) weights.set(name, safetensorsWeight(shard.path, info));
  validateWeights(dir, spec, weights, 'config.json', ['F32', 'F16', 'BF16']);

  const hash = createHash('sha256');
  hash.update(readFileSync(configPath));
  for (const f of shardFiles) {
    const st = statSync(f);
    hash.update(`${path.basename(f)}:${st.size}:${st.mtimeMs}`);
  }
  return { path: dir, format: 'safetensors', spec, weights, shards, fingerprint: hash.digest('hex').slice(0, 16), displayName: path.basename(path.resolve(dir)) };
}

function findShards(dir: string, files: string[]): string[] {
  const indexPath = path.join(dir, 'model.safetensors.index.json');
  if (existsSync(indexPath)) {
    let index: { weight_map?: Record<string, string> };
    try {
      index = JSON.parse(readFileSync(indexPath, 'utf8'));
    } catch (err) {
      throw new CheckpointError(`${indexPath} is not valid JSON (${(err as Error).message})`);
    }
    if (!index.weight_map || typeof index.weight_map !== 'object') throw new CheckpointError(`${indexPath} has no weight_map`);
    const names = [...new Set(Object.values(index.weight_map))];
    for (const n of names) {
      if (typeof n !== 'string' || n.includes('/') || n.includes('\\') || !n.endsWith('.safetensors')) throw new CheckpointError(`${indexPath}: shard name ${JSON.stringify(n)} is not a plain *.safetensors file name`);
      if (!existsSync(path.join(dir, n))) throw new CheckpointError(`${indexPath} names shard ${n}, which is missing from ${dir} (incomplete download?)`);
    }
    return names.sort().map((n) => path.join(dir, n));
  }
  if (files.includes('model.safetensors')) return [path.join(dir, 'model.safetensors')];
  const loose = files.filter((f) => f.endsWith('.safetensors')).sort();
  if (loose.length > 0) return loose.map((f) => path.join(dir, f));
  const pickles = files.filter((f) => /\.(bin|pt|pth|ckpt|pkl)$/.test(f));
  if (pickles.length > 0) {
    throw new CheckpointError(
      `${dir} holds only pickle weights (${pickles.join(', ')}). Persona Lens never unpickles files (it can run code). Convert them to safetensors first, e.g. with transformers: model.save_pretrained(dir, safe_serialization=True).`,
    );
  }
  throw new CheckpointError(`${dir} has no *.safetensors weights`);
}

/** Names of the tensors the engine needs, by layer. */
export function weightNames(spec: ModelSpec, layer: number) {
  const p = `model.layers.${layer}`;
  return {
    inputNorm: `${p}.input_layernorm.weight`,
    /** llama-style: the norm before the MLP; gemma: the norm of the attention output (before the residual add). */
    postNorm: `${p}.post_attention_layernorm.weight`,
    /** gemma: before the MLP, and of the MLP output. */
    preFfNorm: `${p}.pre_feedforward_layernorm.weight`,
    postFfNorm: `${p}.post_feedforward_layernorm.weight`,
    q: `${p}.self_attn.q_proj`,
    k: `${p}.self_attn.k_proj`,
    v: `${p}.self_attn.v_proj`,
    o: `${p}.self_attn.o_proj`,
    qNorm: `${p}.self_attn.q_norm.weight`,
    kNorm: `${p}.self_attn.k_norm.weight`,
    gate: `${p}.mlp.gate_proj`,
    up: `${p}.mlp.up_proj`,
    down: `${p}.mlp.down_proj`,
    /** phi3: q, k, v rows of one fused projection, and gate then up rows of another (spec.fusedProjections). */
    qkv: `${p}.self_attn.qkv_proj`,
    gateUp: `${p}.mlp.gate_up_proj`,
  };
}

/**
 * A Gemma 3 vision checkpoint (Gemma3ForConditionalGeneration) stores its text model as `language_model.model.*` +
 * `language_model.lm_head.*` (transformers < 4.52) or `model.language_model.*` + `lm_head.*` (later). The engine
 * reads the text model under the HF causal-LM names; the vision tower and projector are left out. The files stay
 * as they are: only the names the engine looks tensors up by change.
 */
export function textModelView(spec: ModelSpec, shards: SafetensorsHeader[]): SafetensorsHeader[] {
  if (spec.architecture !== 'gemma3') return shards;
  const names = shards.flatMap((s) => [...s.tensors.keys()]);
  const prefix = ['language_model.model.', 'model.language_model.'].find((p) => names.some((n) => n.startsWith(p)));
  if (!prefix) return shards;
  const rename = (name: string): string | undefined => {
    if (name.startsWith(prefix)) return `model.${name.slice(prefix.length)}`;
    if (name === 'language_model.lm_head.weight' || name === 'lm_head.weight') return 'lm_head.weight';
    return undefined;
  };
  return shards.map((s) => {
    const tensors = new Map<string, TensorInfo>();
    for (const [name, info] of s.tensors) {
      const to = rename(name);
      if (to) tensors.set(to, info);
    }
    return { ...s, tensors };
  });
}

/** The name of the output projection: lm_head when present, else the tied embeddings. */
export function lmHeadName(ckpt: { spec: ModelSpec; weights: Map<string, unknown> }): string {
  if (ckpt.weights.has('lm_head.weight')) return 'lm_head.weight';
  return 'model.embed_tokens.weight';
}

/**
 * Checks that every tensor the spec needs is present with the shape it implies and, when `dtypes` is given, of a
 * supported type. `source` names what implied the shapes (config.json, the GGUF metadata).
 */
export function validateWeights(where: string, spec: ModelSpec, weights: Map<string, Pick<WeightRef, 'shape' | 'dtype'>>, source: string, dtypes?: string[]): void {
  if (!weights.has('lm_head.weight') && !spec.tieWordEmbeddings) throw new CheckpointError(`${where}: lm_head.weight is missing and tie_word_embeddings is not true`);
  for (const [name, shape] of requiredWeights(spec, weights.has('lm_head.weight'))) {
    const w = weights.get(name);
    if (!w) throw new CheckpointError(`${where}: weight "${name}" is missing (does ${source} match these weights?)`);
    if (w.shape.length !== shape.length || w.shape.some((s, i) => s !== shape[i])) {
      throw new CheckpointError(`${where}: weight "${name}" has shape [${w.shape}] but ${source} implies [${shape}]`);
    }
    if (dtypes && !dtypes.includes(w.dtype)) throw new CheckpointError(`${where}: weight "${name}" is ${w.dtype}; only ${dtypes.join(', ')} are supported`);
  }
}

/** Every tensor the engine reads for this spec, with its HF shape. */
function requiredWeights(spec: ModelSpec, hasLmHead: boolean): Map<string, number[]> {
  const { hiddenSize: d, intermediateSize: f, numHeads: h, numKvHeads: kv, headDim: hd, vocabSize: v } = spec;
  const shapes = new Map<string, number[]>();
  const expect = (name: string, shape: number[]) => shapes.set(name, shape);
  expect('model.embed_tokens.weight', [v, d]);
  expect('model.norm.weight', [d]);
  if (hasLmHead) expect('lm_head.weight', [v, d]);
  for (let l = 0; l < spec.numLayers; l++) {
    const n = weightNames(spec, l);
    expect(n.inputNorm, [d]);
    expect(n.postNorm, [d]);
    if (spec.sandwichNorms) {
      expect(n.preFfNorm, [d]);
      expect(n.postFfNorm, [d]);
    }
    if (spec.fusedProjections) {
      expect(`${n.qkv}.weight`, [(h + 2 * kv) * hd, d]);
    } else {
      expect(`${n.q}.weight`, [h * hd, d]);
      expect(`${n.k}.weight`, [kv * hd, d]);
      expect(`${n.v}.weight`, [kv * hd, d]);
    }
    expect(`${n.o}.weight`, [d, h * hd]);
    if (spec.qkvBias) {
      expect(`${n.q}.bias`, [h * hd]);
      expect(`${n.k}.bias`, [kv * hd]);
      expect(`${n.v}.bias`, [kv * hd]);
    }
    if (spec.oBias) expect(`${n.o}.bias`, [d]);
    if (spec.qkNorm) {
      expect(n.qNorm, [hd]);
      expect(n.kNorm, [hd]);
    }
    if (spec.fusedProjections) {
      expect(`${n.gateUp}.weight`, [2 * f, d]);
    } else {
      expect(`${n.gate}.weight`, [f, d]);
      expect(`${n.up}.weight`, [f, d]);
    }
    expect(`${n.down}.weight`, [d, f]);
    if (spec.mlpBias) {
      expect(`${n.gate}.bias`, [f]);
      expect(`${n.up}.bias`, [f]);
      expect(`${n.down}.bias`, [d]);
    }
  }
  return shapes;
}

export interface MemoryEstimate {
  parameters: number;
  precision: WeightPrecision;
  /** Bytes the engine needs: the weights as stored at this precision plus working memory. */
  requiredBytes: number;
  availableBytes: number;
}

/**
 * Parameters stored as MatMulNBits blocks at int8 / int4: embeddings, lm_head and every linear weight (phi3's fused
 * qkv_proj / gate_up_proj hold exactly the q, k, v / gate, up parameters, so the count is the same).
 */
function matrixParameters(spec: ModelSpec): number {
  const { hiddenSize: d, intermediateSize: f, numHeads: h, numKvHeads: kv, headDim: hd, vocabSize: v, numLayers: l } = spec;
  return v * d * (spec.tieWordEmbeddings ? 1 : 2) + l * (2 * d * h * hd + 2 * d * kv * hd + 3 * d * f);
}

/** Bytes of the weights as the engine stores them at a precision (norms and biases stay float32). */
export function weightBytes(spec: ModelSpec, precision: WeightPrecision): number {
  const total = parameterCount(spec);
  if (precision === 'f32') return total * 4;
  const matrices = matrixParameters(spec);
  // Untied embeddings stay int8 at int4 (see quantize.ts).
  const int8Embeddings = precision === 'int4' && !spec.tieWordEmbeddings ? spec.vocabSize * spec.hiddenSize : 0;
  return (matrices - int8Embeddings) * bytesPerWeight(precision) + int8Embeddings * bytesPerWeight('int8') + (total - matrices) * 4;
}

/**
 * Working memory on top of the weights: ~25 % at float32 (activations, runtime). MatMulNBits prepacks quantized
 * weights into its own layout, but the mapped original is released per weight: measured on the Qwen2.5-0.5B shape,
 * RSS after load was the weights + 0.39 GiB at int4 and + 0.46 GiB at int8 (+ 0.59 GiB at f32).
 */
const OVERHEAD: Record<WeightPrecision, number> = { f32: 1.25, int8: 1.15, int4: 1.15 };

/** Estimates memory before loading, at a precision. */
export function estimateMemory(spec: ModelSpec, precision: WeightPrecision = 'f32', availableBytes = os.freemem()): MemoryEstimate {
  const parameters = parameterCount(spec);
  return { parameters, precision, requiredBytes: Math.ceil(weightBytes(spec, precision) * OVERHEAD[precision] + 256 * 1024 * 1024), availableBytes };
}

/** The precision a model loads at: the `weights` choice, with `auto` resolved against this model's estimates. */
export function precisionFor(spec: ModelSpec, choice: WeightPrecisionChoice = 'auto'): WeightPrecision {
  return resolvePrecision(choice, parameterCount(spec), (p) => estimateMemory(spec, p).requiredBytes);
}

export function assertMemoryAvailable(dir: string, spec: ModelSpec, precision: WeightPrecision = 'f32', availableBytes?: number): MemoryEstimate {
  const estimate = estimateMemory(spec, precision, availableBytes);
  if (estimate.requiredBytes > estimate.availableBytes) {
    const gib = (b: number) => (b / 1024 ** 3).toFixed(1);
    const fits = (['int8', 'int4'] as const).filter((p) => p !== precision && estimateMemory(spec, p, estimate.availableBytes).requiredBytes <= estimate.availableBytes && bytesPerWeight(p) < bytesPerWeight(precision));
    const advice = fits.length ? `Load it with --weights ${fits[0]} (setting personaLens.engine.weights), which needs about ${gib(estimateMemory(spec, fits[0]).requiredBytes)} GiB` : 'Close other programs or choose a smaller model';
    throw new CheckpointError(
      `${dir}: this model has ${(estimate.parameters / 1e9).toFixed(2)} B parameters and needs about ${gib(estimate.requiredBytes)} GiB as ${precision}, but only ${gib(estimate.availableBytes)} GiB is available. ${advice}.`,
    );
  }
  return estimate;
}
