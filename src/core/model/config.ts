/**
 * Reads a Hugging Face config.json into the engine's ModelSpec, applying each architecture's HF defaults and
 * refusing, with a clear message, anything the engine cannot reproduce exactly.
 */
export const SUPPORTED_ARCHITECTURES = ['llama', 'mistral', 'qwen2', 'qwen3'] as const;
export type Architecture = (typeof SUPPORTED_ARCHITECTURES)[number];

export interface RopeSpec {
  theta: number;
  /** 'llama3' frequency scaling (Llama 3.1+); undefined for plain RoPE. */
  llama3?: { factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositions: number };
  /** Per-frequency divisors, as GGUF files carry llama3 scaling (`rope_freqs.weight`); length headDim / 2. */
  frequencyFactors?: number[];
}

export interface ModelSpec {
  architecture: Architecture;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  vocabSize: number;
  rmsNormEps: number;
  rope: RopeSpec;
  maxPositions: number;
  /** Bias on q, k, v projections. */
  qkvBias: boolean;
  /** Bias on o_proj. */
  oBias: boolean;
  /** Bias on gate/up/down projections. */
  mlpBias: boolean;
  /** qwen3: RMSNorm over head_dim on q and k before RoPE. */
  qkNorm: boolean;
  tieWordEmbeddings: boolean;
  /** Sliding-window attention (mistral): key j is masked for query i when i − j ≥ window. */
  slidingWindow?: number;
  bosTokenId?: number;
  eosTokenIds: number[];
}

export class ConfigError extends Error {
  constructor(readonly path: string, problem: string) {
    super(`${path}: ${problem}`);
    this.name = 'ConfigError';
  }
}

type Json = Record<string, unknown>;

export function parseModelConfig(raw: unknown, path = 'config.json'): ModelSpec {
  if (typeof raw !== 'object' || raw === null) throw new ConfigError(path, 'is not a JSON object');
  const c = raw as Json;
  const fail = (why: string): never => {
    throw new ConfigError(path, why);
  };
  const arch = c.model_type;
  if (typeof arch !== 'string' || !(SUPPORTED_ARCHITECTURES as readonly string[]).includes(arch)) {
    fail(`model_type ${JSON.stringify(arch)} is not supported. Supported architectures: ${SUPPORTED_ARCHITECTURES.join(', ')}.`);
  }
  const architecture = arch as Architecture;
  const int = (key: string, fallback?: number): number => {
    const v = c[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) fail(`"${key}" must be a positive integer (got ${JSON.stringify(c[key])})`);
    return v as number;
  };
  const num = (key: string, fallback: number): number => {
    const v = c[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) fail(`"${key}" must be a positive number (got ${JSON.stringify(c[key])})`);
    return v as number;
  };

  const hiddenSize = int('hidden_size');
  const numHeads = int('num_attention_heads');
  const kvDefault = architecture === 'mistral' ? 8 : architecture === 'llama' ? numHeads : 32;
  const numKvHeads = c.num_key_value_heads == null ? (architecture === 'llama' ? numHeads : kvDefault) : int('num_key_value_heads');
  if (numHeads % numKvHeads !== 0) fail(`num_attention_heads (${numHeads}) must be a multiple of num_key_value_heads (${numKvHeads})`);
  const headDim = c.head_dim == null ? (architecture === 'qwen3' ? 128 : hiddenSize / numHeads) : int('head_dim');
  if (!Number.isInteger(headDim) || headDim % 2 !== 0) fail(`head dimension ${headDim} must be an even integer`);

  const act = c.hidden_act ?? c.hidden_activation ?? 'silu';
  if (act !== 'silu') fail(`hidden_act "${String(act)}" is not supported (only silu)`);
  if (c.quantization_config) fail('quantized checkpoints (quantization_config) are not supported; use the F32/F16/BF16 weights');
  const partial = c.partial_rotary_factor ?? 1;
  if (partial !== 1) fail(`partial_rotary_factor ${String(partial)} is not supported`);

  const rope = parseRope(c, fail);
  let slidingWindow: number | undefined;
  if (architecture === 'mistral') {
    // HF's MistralConfig defaults sliding_window to 4096 when the key is missing; an explicit null disables it.
    if (!('sliding_window' in c)) slidingWindow = 4096;
    else if (c.sliding_window !== null) slidingWindow = int('sliding_window');
  } else if (architecture === 'qwen2' || architecture === 'qwen3') {
    const layerTypes = c.layer_types;
    if (c.use_sliding_window === true || (Array.isArray(layerTypes) && layerTypes.some((t) => t !== 'full_attention'))) {
      fail('sliding-window attention on Qwen layers (use_sliding_window / layer_types) is not supported');
    }
  }

  const attentionBias = c.attention_bias === true;
  const eos = c.eos_token_id;
  const eosTokenIds = Array.isArray(eos) ? eos.filter((x): x is number => typeof x === 'number') : typeof eos === 'number' ? [eos] : [];
  return {
    architecture,
    hiddenSize,
    intermediateSize: int('intermediate_size'),
    numLayers: int('num_hidden_layers'),
    numHeads,
    numKvHeads,
    headDim,
    vocabSize: int('vocab_size'),
    rmsNormEps: num('rms_norm_eps', 1e-6),
    rope,
    maxPositions: int('max_position_embeddings', architecture === 'llama' ? 2048 : architecture === 'mistral' ? 131072 : 32768),
    // qwen2 hard-codes q/k/v bias (an attention_bias key is ignored by HF); llama/qwen3 use attention_bias for all four.
    qkvBias: architecture === 'qwen2' ? true : architecture === 'mistral' ? false : attentionBias,
    oBias: architecture === 'llama' || architecture === 'qwen3' ? attentionBias : false,
    mlpBias: architecture === 'llama' ? c.mlp_bias === true : false,
    qkNorm: architecture === 'qwen3',
    tieWordEmbeddings: c.tie_word_embeddings === true,
    slidingWindow,
    bosTokenId: typeof c.bos_token_id === 'number' ? c.bos_token_id : undefined,
    eosTokenIds,
  };
}

function parseRope(c: Json, fail: (why: string) => never): RopeSpec {
  const params = (c.rope_parameters ?? c.rope_scaling ?? null) as Json | null;
  const thetaRaw = c.rope_theta ?? params?.rope_theta ?? 10000;
  if (typeof thetaRaw !== 'number' || !(thetaRaw > 0)) fail(`rope_theta must be a positive number (got ${JSON.stringify(thetaRaw)})`);
  const theta = thetaRaw as number;
  if (!params) return { theta };
  const type = params.rope_type ?? params.type ?? 'default';
  if (type === 'default') return { theta };
  if (type !== 'llama3') fail(`rope_scaling type "${String(type)}" is not supported (supported: default, llama3)`);
  const need = (key: string): number => {
    const v = params[key];
    if (typeof v !== 'number' || !Number.isFinite(v)) fail(`rope_scaling.${key} must be a number for llama3 scaling`);
    return v as number;
  };
  const original = params.original_max_position_embeddings ?? c.max_position_embeddings;
  if (typeof original !== 'number') fail('rope_scaling.original_max_position_embeddings is missing');
  return {
    theta,
    llama3: { factor: need('factor'), lowFreqFactor: need('low_freq_factor'), highFreqFactor: need('high_freq_factor'), originalMaxPositions: original as number },
  };
}

/** Number of parameters the engine will hold (tied embeddings counted once). */
export function parameterCount(spec: ModelSpec): number {
  const { hiddenSize: d, intermediateSize: f, numHeads: h, numKvHeads: kv, headDim: hd, vocabSize: v, numLayers: l } = spec;
  const attn = d * h * hd * 2 + d * kv * hd * 2 + (spec.qkvBias ? h * hd + 2 * kv * hd : 0) + (spec.oBias ? d : 0) + (spec.qkNorm ? 2 * hd : 0);
  const mlp = 3 * d * f + (spec.mlpBias ? 2 * f + d : 0);
  return v * d * (spec.tieWordEmbeddings ? 1 : 2) + l * (attn + mlp + 2 * d) + d;
}
