/**
 * PEFT LoRA adapters (adapter_config.json + adapter_model.safetensors), merged into the base weights when the
 * model is prepared: W' = W + s·B·A for every targeted Linear, with s = lora_alpha / r (or lora_alpha / √r with
 * use_rslora) and per-module rank_pattern / alpha_pattern overrides, as PEFT's LoraLayer does.
 * Full tensors an adapter carries (modules_to_save, trained biases) replace the base tensor of the same name.
 * Anything we cannot merge exactly (other PEFT types, DoRA, embedding LoRA, fan_in_fan_out) is refused by name.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { readSafetensorsHeader, readTensorBytes, toFloat32, type TensorInfo } from './safetensors';

export class AdapterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AdapterError';
  }
}

export interface LoraAdapter {
  dir: string;
  /** Identifies this adapter's exact files (config + weights size and time). */
  fingerprint: string;
  /** Base weight name (e.g. model.layers.0.self_attn.q_proj.weight) → what to add or replace. */
  deltas: Map<string, { a: TensorInfo; b: TensorInfo; scale: number }>;
  replacements: Map<string, TensorInfo>;
  weightsFile: string;
  baseModel?: string;
}

const CONFIG = 'adapter_config.json';
const WEIGHTS = 'adapter_model.safetensors';
/** PEFT prefixes saved keys with the wrapper path; the base checkpoint's names follow it. */
const PEFT_PREFIX = 'base_model.model.';

/** Reads and validates an adapter folder against the base checkpoint's tensor shapes. */
export function openLoraAdapter(dir: string, baseShapes: Map<string, number[]>): LoraAdapter {
  const configPath = path.join(dir, CONFIG);
  if (!existsSync(configPath)) throw new AdapterError(`${dir} has no ${CONFIG}: choose a PEFT adapter folder (adapter_config.json + adapter_model.safetensors), or pass a full checkpoint instead.`);
  let config: Record<string, unknown>;
  try {
    config = JSON.parse(readFileSync(configPath, 'utf8'));
  } catch (err) {
    throw new AdapterError(`${configPath} is not valid JSON (${(err as Error).message})`);
  }
  if (typeof config !== 'object' || config === null || Array.isArray(config)) throw new AdapterError(`${configPath} must hold a JSON object (PEFT's adapter config)`);
  const type = String(config.peft_type ?? '');
  if (type !== 'LORA') throw new AdapterError(`${configPath}: peft_type "${type}" is not supported; Persona Lens merges LoRA adapters only. Merge other adapters with PEFT (merge_and_unload) and pass the merged checkpoint.`);
  if (config.use_dora) throw new AdapterError(`${configPath}: DoRA adapters (use_dora) are not supported; merge with PEFT first.`);
  if (config.fan_in_fan_out) throw new AdapterError(`${configPath}: fan_in_fan_out adapters (GPT-2 style Conv1D) are not supported by the architectures Persona Lens runs.`);
  // Variants whose merge is not W + s·B·A onto the untouched base: merging them here would be silently wrong.
  const init = config.init_lora_weights;
  if (typeof init === 'string' && /^(pissa|olora|corda|loftq|eva)/i.test(init)) {
    throw new AdapterError(`${configPath}: init_lora_weights "${init}" changed the base weights when training started, so this adapter does not fit the original base. Convert it with PEFT (path_initial_model_for_weight_conversion) or merge it there and pass the merged checkpoint.`);
  }
  for (const [key, what] of [['use_qalora', 'QA-LoRA'], ['alora_invocation_tokens', 'activated LoRA (aLoRA)'], ['trainable_token_indices', 'trainable token indices'], ['layer_replication', 'layer replication'], ['lora_bias', 'LoRA biases (lora_bias)']] as const) {
    const value = config[key];
    if (value && !(Array.isArray(value) && value.length === 0)) throw new AdapterError(`${configPath}: ${what} is not supported; merge the adapter with PEFT (merge_and_unload) and pass the merged checkpoint.`);
  }
  const r = Number(config.r);
  const alpha = Number(config.lora_alpha ?? r);
  if (!Number.isInteger(r) || r <= 0 || !Number.isFinite(alpha)) throw new AdapterError(`${configPath}: r must be a positive integer and lora_alpha a number (found r=${config.r}, lora_alpha=${config.lora_alpha})`);
  const rankPattern = numberPattern(config.rank_pattern, 'rank_pattern', configPath, true);
  const alphaPattern = numberPattern(config.alpha_pattern, 'alpha_pattern', configPath, false);
  const rankFor = (module: string) => patternValue(rankPattern, module) ?? r;
  const scaleFor = (module: string): number => {
    const rank = rankFor(module);
    const a = patternValue(alphaPattern, module) ?? alpha;
    return config.use_rslora ? a / Math.sqrt(rank) : a / rank;
  };

  const weightsFile = path.join(dir, WEIGHTS);
  if (!existsSync(weightsFile)) {
    const pickle = existsSync(path.join(dir, 'adapter_model.bin'));
    throw new AdapterError(pickle
      ? `${dir} holds only adapter_model.bin (a pickle, which Persona Lens never loads: it can run code). Save the adapter with safe_serialization=True.`
      : `${dir} has no ${WEIGHTS}.`);
  }
  const header = readSafetensorsHeader(weightsFile);
  const pairs = new Map<string, { a?: TensorInfo; b?: TensorInfo }>();
  const replacements = new Map<string, TensorInfo>();
  for (const [key, info] of header.tensors) {
    if (!['F32', 'F16', 'BF16', 'F64'].includes(info.dtype)) throw new AdapterError(`${weightsFile}: "${key}" is ${info.dtype}, not a floating-point tensor`);
    // bias="all" saves the wrapped layer's bias under base_layer.
    const name = (key.startsWith(PEFT_PREFIX) ? key.slice(PEFT_PREFIX.length) : key).replace('.base_layer.', '.');
    if (/lora_embedding_[AB]|lora_magnitude_vector/.test(name)) throw new AdapterError(`${weightsFile}: "${key}" is an embedding-LoRA or DoRA tensor, which is not supported.`);
    const lora = /^(.*)\.lora_([AB])(?:\.[^.]+)?\.weight$/.exec(name);
    if (lora) {
      const entry = pairs.get(lora[1]) ?? {};
      entry[lora[2] === 'A' ? 'a' : 'b'] = info;
      pairs.set(lora[1], entry);
      continue;
    }
    if (name === 'lm_head.weight' && !baseShapes.has(name)) throw new AdapterError(`${weightsFile}: "${key}" replaces the output head, but the base ties it to the embeddings; untie them, or merge with PEFT and pass the merged checkpoint.`);
    if (name === 'model.embed_tokens.weight' && !baseShapes.has('lm_head.weight')) throw new AdapterError(`${weightsFile}: "${key}" replaces the embeddings of a base whose output head is tied to them; PEFT keeps the old head then, which a merged model cannot express. Merge with PEFT and pass the merged checkpoint.`);
    if (!baseShapes.has(name)) throw new AdapterError(`${weightsFile}: "${key}" matches no tensor of the base model (is this adapter for another model?)`);
    if (!sameShape(baseShapes.get(name)!, info.shape)) throw new AdapterError(`${weightsFile}: "${key}" has shape [${info.shape}] but the base model's is [${baseShapes.get(name)}]`);
    replacements.set(name, info);
  }

  const deltas = new Map<string, { a: TensorInfo; b: TensorInfo; scale: number }>();
  for (const [module, { a, b }] of pairs) {
    if (!a || !b) throw new AdapterError(`${weightsFile}: ${module} has lora_${a ? 'A' : 'B'} but no lora_${a ? 'B' : 'A'}`);
    const target = `${module}.weight`;
    const base = baseShapes.get(target);
    if (!base) throw new AdapterError(`${weightsFile}: ${module} matches no weight of the base model (is this adapter for another model?)`);
    if (base.length !== 2 || a.shape.length !== 2 || b.shape.length !== 2 || a.shape[0] !== b.shape[1] || b.shape[0] !== base[0] || a.shape[1] !== base[1]) {
      throw new AdapterError(`${weightsFile}: ${module} has lora_A [${a.shape}] and lora_B [${b.shape}], which do not fit the base weight [${base}] (expected A [r, ${base[1]}], B [${base[0]}, r])`);
    }
    if (a.shape[0] !== rankFor(module)) throw new AdapterError(`${weightsFile}: ${module} has rank ${a.shape[0]} but ${CONFIG} says ${rankFor(module)} (r / rank_pattern); the scale would be wrong`);
    deltas.set(target, { a, b, scale: scaleFor(module) });
  }
  if (deltas.size === 0 && replacements.size === 0) throw new AdapterError(`${weightsFile} holds no LoRA tensors.`);

  const hash = createHash('sha256');
  hash.update(readFileSync(configPath));
  const st = statSync(weightsFile);
  hash.update(`${st.size}:${st.mtimeMs}`);
  return { dir, fingerprint: hash.digest('hex').slice(0, 16), deltas, replacements, weightsFile, baseModel: typeof config.base_model_name_or_path === 'string' ? config.base_model_name_or_path : undefined };
}

/** The merged float32 value of a base tensor, or undefined when the adapter leaves it unchanged. */
export function mergedTensor(adapter: LoraAdapter, name: string, base: () => Float32Array): Float32Array | undefined {
  const replacement = adapter.replacements.get(name);
  if (replacement) return toFloat32(readTensorBytes(adapter.weightsFile, replacement), replacement.dtype);
  const delta = adapter.deltas.get(name);
  if (!delta) return undefined;
  const w = Float32Array.from(base());
  const a = toFloat32(readTensorBytes(adapter.weightsFile, delta.a), delta.a.dtype);
  const b = toFloat32(readTensorBytes(adapter.weightsFile, delta.b), delta.b.dtype);
  const [out, rank] = delta.b.shape;
  const inDim = delta.a.shape[1];
  // W[o, i] += s · Σ_k B[o, k] A[k, i]; row-wise so A's rows stream through cache.
  for (let o = 0; o < out; o++) {
    const row = o * inDim;
    for (let k = 0; k < rank; k++) {
      const bk = delta.scale * b[o * rank + k];
      if (bk === 0) continue;
      const ak = k * inDim;
      for (let i = 0; i < inDim; i++) w[row + i] += bk * a[ak + i];
    }
  }
  return w;
}

/** rank_pattern / alpha_pattern: module-name keys → positive numbers. Regular-expression keys are refused (an
 * adapter file must not be able to hang the engine with a pathological pattern). */
function numberPattern(value: unknown, key: string, configPath: string, integer: boolean): Record<string, number> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new AdapterError(`${configPath}: ${key} must be an object of module name → number`);
  const out: Record<string, number> = {};
  for (const [name, n] of Object.entries(value as Record<string, unknown>)) {
    if (!/^[\w.]+$/.test(name)) throw new AdapterError(`${configPath}: ${key} key "${name.slice(0, 60)}" is a pattern; only module names (letters, digits, "_", ".") are supported`);
    if (typeof n !== 'number' || !(n > 0) || (integer && !Number.isInteger(n))) throw new AdapterError(`${configPath}: ${key}["${name}"] must be a positive ${integer ? 'integer' : 'number'}`);
    out[name] = n;
  }
  return out;
}

/** PEFT matches pattern keys against the end of the module name ("(.*\.)?key$"). */
function patternValue(pattern: Record<string, number>, module: string): number | undefined {
  for (const [key, value] of Object.entries(pattern)) if (module === key || module.endsWith(`.${key}`)) return value;
  return undefined;
}

const sameShape = (a: number[], b: number[]) => a.length === b.length && a.every((x, i) => x === b[i]);
