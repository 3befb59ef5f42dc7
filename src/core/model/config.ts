/**
 * Reads a Hugging Face config.json into the engine's ModelSpec, applying each architecture's HF defaults and
 * refusing, with a clear message, anything the engine cannot reproduce exactly.
 */
export const SUPPORTED_ARCHITECTURES = ['llama', 'mistral', 'qwen2', 'qwen3', 'gemma2', 'gemma3', 'phi3'] as const;
export type Architecture = (typeof SUPPORTED_ARCHITECTURES)[number];

/** config.json `model_type` values read, and the architecture each computes as. */
const MODEL_TYPES: Record<string, Architecture> = {
  llama: 'llama',
  mistral: 'mistral',
  qwen2: 'qwen2',
  qwen3: 'qwen3',
  gemma2: 'gemma2',
  gemma3_text: 'gemma3',
  // Gemma3ForConditionalGeneration (4B/12B/27B): its text model, from text_config and the language_model weights.
  gemma3: 'gemma3',
  phi3: 'phi3',
};

export interface RopeSpec {
  theta: number;
  /** 'llama3' frequency scaling (Llama 3.1+); undefined for plain RoPE. */
  llama3?: { factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositions: number };
  /** Per-frequency divisors, as GGUF files carry llama3 scaling (`rope_freqs.weight`); length headDim / 2. */
  frequencyFactors?: number[];
  /** 'linear' scaling (Gemma 3 global layers): every frequency divided by this factor. */
  linearFactor?: number;
  /**
   * 'longrope' (Phi-3 128k, Phi-3.5, Phi-4-mini): frequencies divided per dimension by the short factors, or the long
   * ones when the forward pass reaches past originalMaxPositions (HF: max(position_ids) + 1 > original), and cos / sin
   * multiplied by attentionFactor (both regimes).
   */
  longrope?: { shortFactor: number[]; longFactor: number[]; originalMaxPositions: number; attentionFactor: number };
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
  /** qwen3, gemma3: RMSNorm over head_dim on q and k before RoPE. */
  qkNorm: boolean;
  tieWordEmbeddings: boolean;
  /**
   * Sliding-window attention: key j is masked for query i when i − j ≥ window. Every layer (mistral, phi3) unless
   * slidingLayers says which.
   */
  slidingWindow?: number;
  /** Per layer, true where the sliding window applies (gemma2, gemma3); the other layers attend to everything. */
  slidingLayers?: boolean[];
  /** gemma3: the RoPE of the sliding layers (rope_local_base_freq); the full layers use `rope`. */
  localRope?: RopeSpec;
  /** Dimensions of each head that RoPE rotates (partial_rotary_factor, Phi-4-mini); default headDim. */
  rotaryDim?: number;
  /** Embeddings multiplied by this (gemma: √hidden_size rounded to the checkpoint's dtype); default 1. */
  embeddingScale?: number;
  /** gemma: RMSNorm as x̂ · (1 + w) instead of x̂ · w (every norm, q/k norms included). */
  normPlusOne?: boolean;
  /** gemma: post-attention, pre-feedforward and post-feedforward norms, the residual added after the post norms. */
  sandwichNorms?: boolean;
  /** MLP activation of the gate: SiLU (default) or gemma's gelu_pytorch_tanh. */
  activation?: 'silu' | 'gelu_tanh';
  /** Multiplier of q·k (gemma: query_pre_attn_scalar^-0.5); default headDim^-0.5. */
  attentionScale?: number;
  /** gemma2: attention logits become cap · tanh(logits / cap) before the mask. */
  attnSoftcap?: number;
  /** gemma2: output logits become cap · tanh(logits / cap). */
  finalSoftcap?: number;
  /** phi3: fused qkv_proj (q rows, then k, then v) and gate_up_proj (gate rows, then up) in the checkpoint. */
  fusedProjections?: boolean;
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

const SUPPORTED_MESSAGE =
  'Supported architectures: llama, mistral, qwen2, qwen3, gemma2, gemma3, phi3 (model_type gemma3_text, or gemma3 for the text model of a Gemma 3 vision checkpoint; phi3 covers Phi-3, Phi-3.5 and Phi-4).';

export function parseModelConfig(raw: unknown, path = 'config.json'): ModelSpec {
  if (typeof raw !== 'object' || raw === null) throw new ConfigError(path, 'is not a JSON object');
  const top = raw as Json;
  const fail = (why: string): never => {
    throw new ConfigError(path, why);
  };
  const modelType = top.model_type;
  if (typeof modelType !== 'string' || !Object.prototype.hasOwnProperty.call(MODEL_TYPES, modelType)) {
    fail(`model_type ${JSON.stringify(modelType)} is not supported. ${SUPPORTED_MESSAGE}`);
  }
  const architecture = MODEL_TYPES[modelType as string];
  // A Gemma 3 vision checkpoint: the text model's config is text_config; token ids and dtype may sit at the top.
  let c = top;
  if (modelType === 'gemma3') {
    const text = top.text_config;
    if (typeof text !== 'object' || text === null || Array.isArray(text)) fail('model_type "gemma3" (a Gemma 3 vision checkpoint) has no text_config: Persona Lens runs only its text model');
    c = { ...(text as Json) };
    for (const key of ['bos_token_id', 'eos_token_id', 'torch_dtype', 'dtype', 'tie_word_embeddings']) if (c[key] === undefined && top[key] !== undefined) c[key] = top[key];
    const textType = c.model_type;
    if (textType !== undefined && textType !== 'gemma3_text') fail(`text_config.model_type ${JSON.stringify(textType)} is not gemma3_text`);
    if ((c.final_logit_softcapping ?? null) !== null) fail('text_config.final_logit_softcapping is set, but Gemma3ForConditionalGeneration does not apply it in every transformers version; refusing rather than guessing');
  }
  const gemma = architecture === 'gemma2' || architecture === 'gemma3';
  const has = (key: string) => c[key] !== undefined && c[key] !== null;
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
  /** A positive number, or undefined where the key is null (or absent with an undefined default). */
  const optionalNum = (key: string, fallback: number | undefined): number | undefined => {
    const v = key in c ? c[key] : fallback;
    if (v === null || v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) fail(`"${key}" must be a positive number or null (got ${JSON.stringify(v)})`);
    return v as number;
  };

  // Defaults of HF's config classes where a key is missing (Gemma 3 vision text_configs leave most out).
  const d: Record<string, number> =
    architecture === 'gemma2'
      ? { vocab_size: 256000, hidden_size: 2304, intermediate_size: 9216, num_hidden_layers: 26, num_attention_heads: 8, num_key_value_heads: 4, head_dim: 256, max_position_embeddings: 8192 }
      : architecture === 'gemma3'
        ? { vocab_size: 262208, hidden_size: 2304, intermediate_size: 9216, num_hidden_layers: 26, num_attention_heads: 8, num_key_value_heads: 4, head_dim: 256, max_position_embeddings: 131072 }
        : architecture === 'phi3'
          ? { vocab_size: 32064, hidden_size: 3072, intermediate_size: 8192, num_hidden_layers: 32, num_attention_heads: 32, max_position_embeddings: 4096 }
          : {};
  const hiddenSize = int('hidden_size', d.hidden_size);
  const numHeads = int('num_attention_heads', d.num_attention_heads);
  const numLayers = int('num_hidden_layers', d.num_hidden_layers);
  const kvDefault = architecture === 'mistral' ? 8 : architecture === 'llama' || architecture === 'phi3' ? numHeads : (d.num_key_value_heads ?? 32);
  const numKvHeads = c.num_key_value_heads == null ? kvDefault : int('num_key_value_heads');
  if (numHeads % numKvHeads !== 0) fail(`num_attention_heads (${numHeads}) must be a multiple of num_key_value_heads (${numKvHeads})`);
  const headDim = c.head_dim == null ? (architecture === 'qwen3' ? 128 : (d.head_dim ?? hiddenSize / numHeads)) : int('head_dim');
  if (!Number.isInteger(headDim) || headDim % 2 !== 0) fail(`head dimension ${headDim} must be an even integer`);

  if (gemma) {
    // Gemma's MLP reads hidden_activation (hidden_act is ignored by HF's Gemma 2 / 3 classes).
    const act = c.hidden_activation ?? 'gelu_pytorch_tanh';
    if (act !== 'gelu_pytorch_tanh') fail(`hidden_activation "${String(act)}" is not supported (only gelu_pytorch_tanh)`);
    if (c.use_bidirectional_attention === true) fail('use_bidirectional_attention (EmbeddingGemma) is not a causal language model; it is not supported');
  } else {
    const act = c.hidden_act ?? c.hidden_activation ?? 'silu';
    if (act !== 'silu') fail(`hidden_act "${String(act)}" is not supported (only silu)`);
  }
  if (c.quantization_config || top.quantization_config) fail('quantized checkpoints (quantization_config) are not supported; use the F32/F16/BF16 weights');
  const partial = c.partial_rotary_factor ?? 1;
  let rotaryDim: number | undefined;
  if (partial !== 1) {
    if (architecture !== 'phi3') fail(`partial_rotary_factor ${String(partial)} is not supported`);
    if (typeof partial !== 'number' || !(partial > 0 && partial < 1)) fail(`partial_rotary_factor must be a number in (0, 1] (got ${JSON.stringify(partial)})`);
    rotaryDim = Math.floor(headDim * (partial as number));
    if (rotaryDim % 2 !== 0 || rotaryDim === 0) fail(`partial_rotary_factor ${String(partial)} gives ${rotaryDim} rotary dimensions of ${headDim}; it must be a positive even number`);
  }
  const maxPositions = int('max_position_embeddings', d.max_position_embeddings ?? (architecture === 'llama' ? 2048 : architecture === 'mistral' ? 131072 : 32768));

  let rope: RopeSpec;
  let localRope: RopeSpec | undefined;
  let slidingWindow: number | undefined;
  let slidingLayers: boolean[] | undefined;
  if (architecture === 'mistral') {
    rope = parseRope(c, fail, ['llama3']);
    // HF's MistralConfig defaults sliding_window to 4096 when the key is missing; an explicit null disables it.
    if (!('sliding_window' in c)) slidingWindow = 4096;
    else if (c.sliding_window !== null) slidingWindow = int('sliding_window');
  } else if (architecture === 'qwen2' || architecture === 'qwen3') {
    rope = parseRope(c, fail, ['llama3']);
    const layerTypes = c.layer_types;
    if (c.use_sliding_window === true || (Array.isArray(layerTypes) && layerTypes.some((t) => t !== 'full_attention'))) {
      fail('sliding-window attention on Qwen layers (use_sliding_window / layer_types) is not supported');
    }
  } else if (architecture === 'phi3') {
    rope = parsePhi3Rope(c, fail, rotaryDim ?? headDim, maxPositions);
    if (has('sliding_window')) slidingWindow = int('sliding_window');
    const layerTypes = c.layer_types;
    if (Array.isArray(layerTypes) && new Set(layerTypes).size > 1) fail('per-layer layer_types on a phi3 model are not supported');
  } else if (gemma) {
    slidingWindow = optionalNum('sliding_window', 4096);
    if (slidingWindow !== undefined && !Number.isInteger(slidingWindow)) fail(`"sliding_window" must be an integer (got ${slidingWindow})`);
    slidingLayers = parseLayerTypes(c, fail, numLayers, architecture === 'gemma2' ? 2 : int('sliding_window_pattern', 6));
    if (architecture === 'gemma2') {
      rope = parseRope(c, fail, []);
    } else {
      ({ rope, localRope } = parseGemma3Rope(c, fail));
    }
  } else {
    rope = parseRope(c, fail, ['llama3']);
  }

  const attentionBias = c.attention_bias === true;
  const eos = c.eos_token_id;
  const eosTokenIds = Array.isArray(eos) ? eos.filter((x): x is number => typeof x === 'number') : typeof eos === 'number' ? [eos] : [];
  const spec: ModelSpec = {
    architecture,
    hiddenSize,
    intermediateSize: int('intermediate_size', d.intermediate_size),
    numLayers,
    numHeads,
    numKvHeads,
    headDim,
    vocabSize: int('vocab_size', d.vocab_size),
    rmsNormEps: num('rms_norm_eps', architecture === 'phi3' ? 1e-5 : 1e-6),
    rope,
    maxPositions,
    // qwen2 hard-codes q/k/v bias (an attention_bias key is ignored by HF); llama/qwen3/gemma use attention_bias for all four.
    qkvBias: architecture === 'qwen2' ? true : architecture === 'mistral' || architecture === 'phi3' ? false : attentionBias,
    oBias: architecture === 'llama' || architecture === 'qwen3' || gemma ? attentionBias : false,
    mlpBias: architecture === 'llama' ? c.mlp_bias === true : false,
    qkNorm: architecture === 'qwen3' || architecture === 'gemma3',
    // Gemma's config classes default tie_word_embeddings to true; the others' to false.
    tieWordEmbeddings: gemma ? c.tie_word_embeddings !== false : c.tie_word_embeddings === true,
    slidingWindow,
    bosTokenId: typeof c.bos_token_id === 'number' ? c.bos_token_id : undefined,
    eosTokenIds,
  };
  if (slidingLayers && slidingWindow !== undefined) spec.slidingLayers = slidingLayers;
  if (localRope) spec.localRope = localRope;
  if (rotaryDim !== undefined) spec.rotaryDim = rotaryDim;
  if (architecture === 'phi3') spec.fusedProjections = true;
  if (gemma) {
    spec.embeddingScale = roundToDtype(Math.sqrt(hiddenSize), c.torch_dtype ?? c.dtype, fail);
    spec.normPlusOne = true;
    spec.sandwichNorms = true;
    spec.activation = 'gelu_tanh';
    spec.attentionScale = num('query_pre_attn_scalar', 256) ** -0.5;
    const attnCap = optionalNum('attn_logit_softcapping', architecture === 'gemma2' ? 50 : undefined);
    const finalCap = optionalNum('final_logit_softcapping', architecture === 'gemma2' ? 30 : undefined);
    if (attnCap !== undefined) spec.attnSoftcap = attnCap;
    if (finalCap !== undefined) spec.finalSoftcap = finalCap;
  }
  return spec;
}

/**
 * HF multiplies the embeddings by `torch.tensor(hidden_size ** 0.5, dtype=<the weights' dtype>)`: √d rounded to
 * bfloat16 / float16 for checkpoints stored so (e.g. √3072 = 55.4256 → 55.5), float32 otherwise.
 */
function roundToDtype(value: number, dtype: unknown, fail: (why: string) => never): number {
  const f = Math.fround(value);
  if (dtype === undefined || dtype === null || dtype === 'float32') return f;
  const bits = new Uint32Array(new Float32Array([f]).buffer)[0];
  if (dtype === 'bfloat16') {
    const rounded = (bits + 0x7fff + ((bits >>> 16) & 1)) & 0xffff0000;
    return new Float32Array(new Uint32Array([rounded >>> 0]).buffer)[0];
  }
  if (dtype === 'float16') {
    // √d of any real hidden size is a normal float16: round the 23-bit mantissa to 10 bits, to nearest even.
    const drop = 13;
    const half = 1 << (drop - 1);
    const rounded = (bits + half - 1 + ((bits >>> drop) & 1)) & ~((1 << drop) - 1);
    return new Float32Array(new Uint32Array([rounded >>> 0]).buffer)[0];
  }
  return fail(`torch_dtype ${JSON.stringify(dtype)} is not one of float32, bfloat16, float16`);
}

/** Which layers use the sliding window: layer_types when given, else HF's pattern (every `pattern`-th layer is full). */
function parseLayerTypes(c: Json, fail: (why: string) => never, layers: number, pattern: number): boolean[] {
  const types = c.layer_types;
  if (types !== undefined && types !== null) {
    if (!Array.isArray(types) || types.length !== layers || types.some((t) => t !== 'sliding_attention' && t !== 'full_attention')) {
      fail(`layer_types must list "sliding_attention" or "full_attention" for each of the ${layers} layers`);
    }
    return (types as string[]).map((t) => t === 'sliding_attention');
  }
  // HF: "sliding_attention" if bool((i + 1) % pattern) else "full_attention" (Gemma 2: pattern 2, even layers slide).
  return Array.from({ length: layers }, (_, i) => (i + 1) % pattern !== 0);
}

function ropeTheta(params: Json | null, c: Json, fallback: number, fail: (why: string) => never, key = 'rope_theta'): number {
  const thetaRaw = params?.rope_theta ?? c[key] ?? fallback;
  if (typeof thetaRaw !== 'number' || !(thetaRaw > 0)) fail(`${key} must be a positive number (got ${JSON.stringify(thetaRaw)})`);
  return thetaRaw as number;
}

function parseRope(c: Json, fail: (why: string) => never, allowed: string[]): RopeSpec {
  const params = (c.rope_parameters ?? c.rope_scaling ?? null) as Json | null;
  const thetaRaw = c.rope_theta ?? params?.rope_theta ?? 10000;
  if (typeof thetaRaw !== 'number' || !(thetaRaw > 0)) fail(`rope_theta must be a positive number (got ${JSON.stringify(thetaRaw)})`);
  const theta = thetaRaw as number;
  if (!params) return { theta };
  const type = params.rope_type ?? params.type ?? 'default';
  if (type === 'default') return { theta };
  if (type !== 'llama3' || !allowed.includes('llama3')) fail(`rope_scaling type "${String(type)}" is not supported (supported: ${['default', ...allowed].join(', ')})`);
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

/**
 * Gemma 3: the full layers use rope_theta with rope_scaling (default or linear), the sliding layers
 * rope_local_base_freq with plain RoPE (HF replaces their rope_scaling by default). transformers 5 writes both as
 * rope_parameters keyed by layer type.
 */
function parseGemma3Rope(c: Json, fail: (why: string) => never): { rope: RopeSpec; localRope: RopeSpec } {
  const byType = c.rope_parameters as Json | undefined;
  const perType = byType && typeof byType === 'object' && ('full_attention' in byType || 'sliding_attention' in byType);
  const globalParams = (perType ? byType.full_attention : (c.rope_scaling ?? null)) as Json | null;
  const localParams = (perType ? byType.sliding_attention : null) as Json | null;
  const theta = ropeTheta(perType ? globalParams : null, c, 1_000_000, fail);
  const localTheta = ropeTheta(perType ? localParams : null, c, 10_000, fail, 'rope_local_base_freq');
  const rope: RopeSpec = { theta };
  const type = globalParams?.rope_type ?? globalParams?.type ?? 'default';
  if (type === 'linear') {
    const factor = globalParams!.factor;
    if (typeof factor !== 'number' || !(factor > 0)) fail('rope_scaling.factor must be a positive number for linear scaling');
    rope.linearFactor = factor as number;
  } else if (type !== 'default') {
    fail(`rope_scaling type "${String(type)}" is not supported for gemma3 (supported: default, linear)`);
  }
  const localType = localParams?.rope_type ?? localParams?.type ?? 'default';
  if (localType !== 'default') fail(`sliding-layer rope type "${String(localType)}" is not supported for gemma3 (supported: default)`);
  return { rope, localRope: { theta: localTheta } };
}

/** Phi-3: plain RoPE or longrope (HF's Phi3Config renames the old "su" / "yarn" types to longrope). */
function parsePhi3Rope(c: Json, fail: (why: string) => never, rotaryDim: number, maxPositions: number): RopeSpec {
  const params = (c.rope_parameters ?? c.rope_scaling ?? null) as Json | null;
  const theta = ropeTheta(c.rope_theta !== undefined ? null : params, c, 10000, fail);
  if (!params) return { theta };
  let type = params.rope_type ?? params.type ?? 'default';
  if (type === 'su' || type === 'yarn') type = 'longrope';
  if (type === 'default') return { theta };
  if (type !== 'longrope') fail(`rope_scaling type "${String(type)}" is not supported for phi3 (supported: default, longrope)`);
  const factors = (key: string): number[] => {
    const v = params[key];
    if (!Array.isArray(v) || v.length !== rotaryDim / 2 || v.some((x) => typeof x !== 'number' || !(x > 0))) fail(`rope_scaling.${key} must list ${rotaryDim / 2} positive numbers (rotary dimensions / 2)`);
    return v as number[];
  };
  const originalRaw = c.original_max_position_embeddings ?? params.original_max_position_embeddings ?? 4096;
  if (typeof originalRaw !== 'number' || !Number.isInteger(originalRaw) || originalRaw <= 0) fail(`original_max_position_embeddings must be a positive integer (got ${JSON.stringify(originalRaw)})`);
  const original = originalRaw as number;
  // HF: factor = max_position_embeddings / original_max_position_embeddings; attention_factor √(1 + ln f / ln original).
  let attentionFactor = params.attention_factor;
  if (attentionFactor === undefined || attentionFactor === null) {
    const factor = maxPositions / original;
    attentionFactor = factor <= 1 ? 1 : Math.sqrt(1 + Math.log(factor) / Math.log(original));
  }
  if (typeof attentionFactor !== 'number' || !(attentionFactor > 0)) fail(`rope_scaling.attention_factor must be a positive number (got ${JSON.stringify(attentionFactor)})`);
  return { theta, longrope: { shortFactor: factors('short_factor'), longFactor: factors('long_factor'), originalMaxPositions: original, attentionFactor: attentionFactor as number } };
}

/** Number of parameters the engine will hold (tied embeddings counted once). */
export function parameterCount(spec: ModelSpec): number {
  const { hiddenSize: d, intermediateSize: f, numHeads: h, numKvHeads: kv, headDim: hd, vocabSize: v, numLayers: l } = spec;
  const attn = d * h * hd * 2 + d * kv * hd * 2 + (spec.qkvBias ? h * hd + 2 * kv * hd : 0) + (spec.oBias ? d : 0) + (spec.qkNorm ? 2 * hd : 0);
  const mlp = 3 * d * f + (spec.mlpBias ? 2 * f + d : 0);
  const norms = (spec.sandwichNorms ? 4 : 2) * d;
  return v * d * (spec.tieWordEmbeddings ? 1 : 2) + l * (attn + mlp + norms) + d;
}
