/**
 * A GGUF model file (llama.cpp, Ollama, LM Studio) as a Checkpoint: its metadata becomes a ModelSpec and its
 * tensors are renamed and reshaped into HF's convention, so the one graph builder and weight store take it like a
 * safetensors folder. Every tensor is decoded to float32 (or, for Q8_0 / Q4_0 at the matching precision, copied
 * exactly into MatMulNBits blocks) a piece of rows at a time.
 *
 * What llama.cpp's converter (`convert_hf_to_gguf.py`, `conversion/llama.py`) does and is undone here:
 *  - HF tensor `model.layers.N.self_attn.q_proj.weight` [out, in] is written as `blk.N.attn_q.weight` with ggml dims
 *    [in, out] (dims[0] innermost), so GGUF row r is HF row r.
 *  - For LLAMA-arch files (Llama, Mistral, Mixtral, …: `LlamaModel.undo_permute = True`) q_proj and k_proj rows
 *    (and biases) are permuted per head from HF's half-split RoPE layout to llama.cpp's interleaved one:
 *    `w.reshape(n_head, 2, head_dim/2, …).swapaxes(1, 2)`. Qwen2 / Qwen3 files are not permuted.
 *  - Llama 3.1+ `rope_scaling` (type llama3) is not metadata but a `rope_freqs.weight` tensor of per-frequency
 *    divisors, which llama.cpp divides the RoPE frequencies by; we do the same.
 *  - Gemma 2 / 3 (`conversion/gemma.py`): every `*norm.weight` (q/k norms included) is stored as 1 + w, computed in
 *    float32, so the file's norms are plain `x̂ · w'`; the sandwich norms are `post_attention_norm`, `ffn_norm` (the
 *    pre-feedforward one) and `post_ffw_norm`. No query_pre_attn_scalar, no sliding-window pattern and no embedding
 *    dtype are stored: llama.cpp derives the attention scale from the model size, the pattern from its defaults
 *    (every 2nd / 6th layer full) and scales embeddings by sqrtf(n_embd) in float32; so do we (see ggufSpec).
 *  - Phi-3 / Phi-4 (`conversion/phi.py`): `attn_qkv` and `ffn_up` are HF's fused qkv_proj and gate_up_proj as they
 *    are (gate rows first); longrope is the tensors `rope_factors_long` / `rope_factors_short` plus
 *    `rope.scaling.attn_factor` and `rope.scaling.original_context_length` (no rope.scaling.type is written);
 *    partial rotary is `rope.dimension_count`.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { validateWeights, type Checkpoint, type WeightRef } from '../model/checkpoint';
import type { Architecture, ModelSpec, RopeSpec } from '../model/config';
import { GgufError } from './ggufFormat';
import { metadataNumber, metadataString, readGgufHeader, readGgufTensorBytes, type GgufHeader, type GgufTensorInfo } from './ggufFile';
import { dequantizeGgml, ggmlBlocksToMatMulNBits } from './ggmlTypes';

/** GGUF `general.architecture` values the engine runs, and the engine architecture each computes as. */
const GGUF_ARCHITECTURES: Record<string, Architecture> = { llama: 'llama', qwen2: 'qwen2', qwen3: 'qwen3', gemma2: 'gemma2', gemma3: 'gemma3', phi3: 'phi3' };

/** Architectures whose q/k rows llama.cpp's converter permutes (LlamaModel.undo_permute). */
const PERMUTED_QK = new Set(['llama']);

export interface GgufCheckpoint extends Checkpoint {
  format: 'gguf';
  header: GgufHeader;
}

export async function openGgufModel(file: string, displayName?: string): Promise<GgufCheckpoint> {
  const header = await readGgufHeader(file);
  const fail = (problem: string): never => {
    throw new GgufError(file, problem);
  };
  const splits = metadataNumber(header, 'split.count');
  if (splits !== undefined && splits > 1) fail(`is part of a split GGUF (${splits} files); merge it first with llama.cpp's llama-gguf-split --merge`);
  const spec = ggufSpec(header, fail);
  const weights = ggufWeights(header, spec, fail);
  validateWeights(file, spec, weights, 'the GGUF metadata');
  return {
    path: file,
    format: 'gguf',
    spec,
    weights,
    shards: [],
    fingerprint: ggufFingerprint(header),
    displayName: displayName ?? metadataString(header, 'general.name') ?? path.basename(file, '.gguf'),
    header,
  };
}

function ggufSpec(header: GgufHeader, fail: (problem: string) => never): ModelSpec {
  const arch = metadataString(header, 'general.architecture', true);
  const architecture = GGUF_ARCHITECTURES[arch];
  if (!architecture) fail(`architecture "${arch}" is not supported; supported GGUF architectures: ${Object.keys(GGUF_ARCHITECTURES).join(', ')} (Mistral files are "llama")`);
  const key = (name: string) => `${arch}.${name}`;
  // Ollama's own Gemma 3 converter writes another dialect (gemma3.text.* keys, the vision tower in the same file).
  if (architecture === 'gemma3' && header.metadata.has(key('text.feed_forward_length'))) {
    fail('is an Ollama-native Gemma 3 file (gemma3.text.* metadata, vision tensors inside), a layout llama.cpp does not read either; use a GGUF made by llama.cpp\'s convert_hf_to_gguf.py, or the safetensors checkpoint');
  }
  const int = (name: string, fallback?: number): number => {
    const entry = header.metadata.get(key(name));
    if (entry?.type === 'array') return fail(`metadata "${key(name)}" differs per layer, which Persona Lens does not support`);
    const value = metadataNumber(header, key(name)) ?? fallback;
    if (value === undefined) return fail(`metadata "${key(name)}" is missing`);
    if (!Number.isInteger(value) || value <= 0) return fail(`metadata "${key(name)}" must be a positive integer (got ${value})`);
    return value;
  };
  if ((metadataNumber(header, key('expert_count')) ?? 0) > 0 || header.tensorsByName.has('blk.0.ffn_gate_exps.weight')) {
    fail(`is a mixture-of-experts model (${key('expert_count')} ${metadataNumber(header, key('expert_count'))}), which Persona Lens does not support`);
  }
  const hiddenSize = int('embedding_length');
  const numHeads = int('attention.head_count');
  const numKvHeads = int('attention.head_count_kv', numHeads);
  if (numHeads % numKvHeads !== 0) fail(`${key('attention.head_count')} (${numHeads}) must be a multiple of ${key('attention.head_count_kv')} (${numKvHeads})`);
  const headDim = int('attention.key_length', hiddenSize / numHeads);
  if (int('attention.value_length', headDim) !== headDim) fail(`${key('attention.value_length')} differs from the key length ${headDim}, which Persona Lens does not support`);
  if (!Number.isInteger(headDim) || headDim % 2 !== 0) fail(`head dimension ${headDim} must be an even integer`);
  const numLayers = int('block_count');
  const ropeDims = int('rope.dimension_count', headDim);
  let rotaryDim: number | undefined;
  if (ropeDims !== headDim) {
    if (architecture !== 'phi3') fail(`${key('rope.dimension_count')} is ${ropeDims}, not the head dimension ${headDim}: partial rotary embeddings are supported only for phi3`);
    if (ropeDims % 2 !== 0 || ropeDims > headDim) fail(`${key('rope.dimension_count')} (${ropeDims}) must be an even number no larger than the head dimension ${headDim}`);
    rotaryDim = ropeDims;
  }
  const eps = metadataNumber(header, key('attention.layer_norm_rms_epsilon'), true);
  if (!(eps > 0)) fail(`${key('attention.layer_norm_rms_epsilon')} must be positive (got ${eps})`);
  const theta = metadataNumber(header, key('rope.freq_base')) ?? 10000;
  if (!(theta > 0)) fail(`${key('rope.freq_base')} must be positive (got ${theta})`);
  const maxPositions = int('context_length', 4096);

  const rope: RopeSpec = { theta };
  // llama.cpp reads a missing rope.scaling.type as "linear" (with no factor: no scaling).
  const scaling = metadataString(header, key('rope.scaling.type')) ?? 'linear';
  const scalingFactor = metadataNumber(header, key('rope.scaling.factor')) ?? 0;
  if (scaling === 'linear' && scalingFactor !== 0 && scalingFactor !== 1) {
    // Gemma 3's global layers (rope_scaling linear); llama.cpp leaves the sliding layers unscaled, as HF does.
    if (architecture !== 'gemma3') fail(`${key('rope.scaling.type')} linear (factor ${scalingFactor}) is supported only for gemma3`);
    if (!(scalingFactor > 0)) fail(`${key('rope.scaling.factor')} must be positive (got ${scalingFactor})`);
    rope.linearFactor = scalingFactor;
  } else if (scaling !== 'linear' && scaling !== 'none' && !(scaling === 'longrope' && architecture === 'phi3')) {
    fail(`${key('rope.scaling.type')} "${scaling}" is not supported (supported: none, linear for gemma3, longrope for phi3, and Llama 3's rope_freqs tensor)`);
  }
  const frequencyFactors = ropeFrequencyFactors(header, headDim, fail);
  if (frequencyFactors) rope.frequencyFactors = frequencyFactors;
  if (architecture === 'phi3') {
    const longrope = longropeFactors(header, rotaryDim ?? headDim, fail);
    if (longrope) {
      rope.longrope = { ...longrope, originalMaxPositions: int('rope.scaling.original_context_length', maxPositions), attentionFactor: positiveMetadata(header, key('rope.scaling.attn_factor'), fail) ?? 1 };
    } else if (scaling === 'longrope') {
      fail(`${key('rope.scaling.type')} is longrope but the file has no rope_factors_long.weight / rope_factors_short.weight tensors`);
    }
  }

  const embeddings = header.tensorsByName.get('token_embd.weight') ?? fail('has no token_embd.weight tensor');
  if (embeddings.dims.length !== 2 || embeddings.dims[0] !== hiddenSize) fail(`token_embd.weight has dims [${embeddings.dims}], expected [${hiddenSize}, vocab]`);
  const has = (name: string) => header.tensorsByName.has(name);
  const eosTokenIds = ['eos_token_id', 'eot_token_id', 'eom_token_id'].map((k) => metadataNumber(header, `tokenizer.ggml.${k}`)).filter((id): id is number => id !== undefined);
  const spec: ModelSpec = {
    architecture,
    hiddenSize,
    intermediateSize: int('feed_forward_length'),
    numLayers,
    numHeads,
    numKvHeads,
    headDim,
    vocabSize: embeddings.dims[1],
    rmsNormEps: eps,
    rope,
    maxPositions,
    // HF Qwen2 always has q/k/v biases; llama / qwen3 / gemma have them with attention_bias, as the file shows.
    qkvBias: architecture === 'qwen2' || has('blk.0.attn_q.bias'),
    oBias: has('blk.0.attn_output.bias'),
    mlpBias: has('blk.0.ffn_up.bias'),
    qkNorm: architecture === 'qwen3' || architecture === 'gemma3',
    tieWordEmbeddings: !has('output.weight'),
    bosTokenId: metadataNumber(header, 'tokenizer.ggml.bos_token_id'),
    eosTokenIds: [...new Set(eosTokenIds)],
  };
  if (rotaryDim !== undefined) spec.rotaryDim = rotaryDim;
  if (architecture === 'phi3') {
    spec.fusedProjections = true;
    // HF applies Phi-3's sliding_window (Phi-3-mini-4k: 2047); llama.cpp currently ignores it ("Phi SWA is disabled"),
    // which changes nothing within the window. 0 is the converter's "none" (Phi-4).
    const window = metadataNumber(header, key('attention.sliding_window')) ?? 0;
    if (window > 0) spec.slidingWindow = int('attention.sliding_window');
  }
  if (architecture === 'gemma2' || architecture === 'gemma3') Object.assign(spec, gemmaSpec(header, architecture, spec, fail));
  return spec;
}

/**
 * Gemma 2 / 3 as llama.cpp's `llama_model_gemma2` / `llama_model_gemma3` read a file: what the converter leaves out
 * is derived the way llama.cpp derives it, so the engine computes what llama.cpp computes from the same file.
 */
function gemmaSpec(header: GgufHeader, architecture: 'gemma2' | 'gemma3', spec: ModelSpec, fail: (problem: string) => never): Partial<ModelSpec> {
  const key = (name: string) => `${architecture}.${name}`;
  const out: Partial<ModelSpec> = {
    sandwichNorms: true,
    activation: 'gelu_tanh',
    // The norms hold 1 + w already (see the top comment): normPlusOne stays off.
    // llama.cpp: ggml_scale(inpL, sqrtf(n_embd)), float32 whatever the checkpoint's dtype was (HF rounds √d to it).
    embeddingScale: Math.fround(Math.sqrt(spec.hiddenSize)),
    // llama.cpp (after gemma_pytorch): (n_embd / n_head)^-0.5 for the 27B models, whose query_pre_attn_scalar is
    // that, and head_dim^-0.5 for the others, whose query_pre_attn_scalar is head_dim.
    attentionScale: 1 / Math.sqrt(spec.numLayers === (architecture === 'gemma2' ? 46 : 62) ? Math.floor(spec.hiddenSize / spec.numHeads) : spec.headDim),
  };
  if (architecture === 'gemma2') {
    out.attnSoftcap = positiveMetadata(header, key('attn_logit_softcapping'), fail) ?? 50;
    out.finalSoftcap = positiveMetadata(header, key('final_logit_softcapping'), fail) ?? 30;
  } else {
    // Gemma 3 has no attention soft-capping; a final one only when the file sets a non-zero value.
    const finalCap = metadataNumber(header, key('final_logit_softcapping'));
    if (finalCap) out.finalSoftcap = positiveMetadata(header, key('final_logit_softcapping'), fail);
  }
  // gemma2: window 4096 unless the file says; gemma3: a window only when the file sets a non-zero one.
  const window = metadataNumber(header, key('attention.sliding_window')) ?? (architecture === 'gemma2' ? 4096 : 0);
  if (!Number.isInteger(window) || window < 0) fail(`metadata "${key('attention.sliding_window')}" must be a non-negative integer (got ${window})`);
  if (window > 0) {
    out.slidingWindow = window;
    out.slidingLayers = slidingLayers(header, key('attention.sliding_window_pattern'), spec.numLayers, architecture === 'gemma2' ? 2 : 6, fail);
    // The sliding layers' RoPE base (gemma3: rope_local_base_freq), unscaled; llama.cpp's default is 10000 for gemma3
    // and the global base for gemma2.
    const localTheta = positiveMetadata(header, key('rope.freq_base_swa'), fail) ?? (architecture === 'gemma3' ? 10000 : undefined);
    if (localTheta !== undefined && (architecture === 'gemma3' || localTheta !== spec.rope.theta)) out.localRope = { theta: localTheta };
  }
  return out;
}

/**
 * llama.cpp's `load_swa_pattern`: a per-layer bool array, or a period n (every n-th layer full, the last of each
 * period: layer l slides when l mod n < n − 1; 0 means every layer slides), else the architecture's default.
 */
/** A metadata number that must be positive when the file has it. */
function positiveMetadata(header: GgufHeader, key: string, fail: (problem: string) => never): number | undefined {
  const value = metadataNumber(header, key);
  if (value !== undefined && !(value > 0)) fail(`metadata "${key}" must be positive (got ${value})`);
  return value;
}

function slidingLayers(header: GgufHeader, name: string, layers: number, defaultPattern: number, fail: (problem: string) => never): boolean[] {
  const entry = header.metadata.get(name);
  if (entry?.type === 'array') {
    if (entry.items.length !== layers || entry.items.some((item) => item.type !== 'bool')) fail(`metadata "${name}" must hold one bool per layer (${layers})`);
    return entry.items.map((item) => (item as { value: boolean }).value);
  }
  const pattern = metadataNumber(header, name) ?? defaultPattern;
  if (!Number.isInteger(pattern) || pattern < 0) fail(`metadata "${name}" must be a non-negative integer (got ${pattern})`);
  return Array.from({ length: layers }, (_, l) => pattern === 0 || l % pattern < pattern - 1);
}

/** Phi-3 longrope as llama.cpp stores it: the factor lists as two F32 tensors of rotary dims / 2 values. */
function longropeFactors(header: GgufHeader, rotaryDim: number, fail: (problem: string) => never): { shortFactor: number[]; longFactor: number[] } | undefined {
  const names = ['rope_factors_short.weight', 'rope_factors_long.weight'] as const;
  const tensors = names.map((name) => header.tensorsByName.get(name));
  if (!tensors[0] && !tensors[1]) return undefined;
  const [shortFactor, longFactor] = tensors.map((tensor, i) => {
    if (!tensor) return fail(`has ${names[1 - i]} but no ${names[i]}`);
    if (tensor.type.name !== 'F32' || tensor.dims.length !== 1 || tensor.dims[0] !== rotaryDim / 2) fail(`${names[i]} must be F32 [${rotaryDim / 2}] (rotary dimensions / 2; got ${tensor.type.name} [${tensor.dims}])`);
    const bytes = readGgufTensorBytes(header, tensor);
    const factors = Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, rotaryDim / 2));
    if (factors.some((f) => !(f > 0) || !Number.isFinite(f))) fail(`${names[i]} holds a factor that is not a positive finite number`);
    return factors;
  });
  return { shortFactor, longFactor };
}

/** Llama 3.1+ frequency scaling as llama.cpp stores it: divisors of the RoPE frequencies (see the top comment). */
function ropeFrequencyFactors(header: GgufHeader, headDim: number, fail: (problem: string) => never): number[] | undefined {
  const tensor = header.tensorsByName.get('rope_freqs.weight');
  if (!tensor) return undefined;
  if (tensor.type.name !== 'F32' || tensor.dims.length !== 1 || tensor.dims[0] !== headDim / 2) fail(`rope_freqs.weight must be F32 [${headDim / 2}] (got ${tensor.type.name} [${tensor.dims}])`);
  const bytes = readGgufTensorBytes(header, tensor);
  const factors = Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, headDim / 2));
  if (factors.some((f) => !(f > 0) || !Number.isFinite(f))) fail('rope_freqs.weight holds a factor that is not a positive finite number');
  return factors;
}

/** GGUF tensor name → HF name, per layer (gguf-py `constants.py` TENSOR_NAMES / `tensor_mapping.py`), per architecture. */
const LLAMA_LAYER_TENSORS: Record<string, string> = {
  'attn_norm.weight': 'input_layernorm.weight',
  'ffn_norm.weight': 'post_attention_layernorm.weight',
  'attn_q.weight': 'self_attn.q_proj.weight',
  'attn_q.bias': 'self_attn.q_proj.bias',
  'attn_k.weight': 'self_attn.k_proj.weight',
  'attn_k.bias': 'self_attn.k_proj.bias',
  'attn_v.weight': 'self_attn.v_proj.weight',
  'attn_v.bias': 'self_attn.v_proj.bias',
  'attn_output.weight': 'self_attn.o_proj.weight',
  'attn_output.bias': 'self_attn.o_proj.bias',
  'attn_q_norm.weight': 'self_attn.q_norm.weight',
  'attn_k_norm.weight': 'self_attn.k_norm.weight',
  'ffn_gate.weight': 'mlp.gate_proj.weight',
  'ffn_gate.bias': 'mlp.gate_proj.bias',
  'ffn_up.weight': 'mlp.up_proj.weight',
  'ffn_up.bias': 'mlp.up_proj.bias',
  'ffn_down.weight': 'mlp.down_proj.weight',
  'ffn_down.bias': 'mlp.down_proj.bias',
};
/** Gemma's four norms: ffn_norm is the pre-feedforward one (FFN_PRE_NORM shares FFN_NORM's name). */
const GEMMA_LAYER_TENSORS: Record<string, string> = {
  ...Object.fromEntries(Object.entries(LLAMA_LAYER_TENSORS).filter(([name]) => !name.startsWith('ffn_') || /^ffn_(gate|up|down)\.weight$/.test(name))),
  'post_attention_norm.weight': 'post_attention_layernorm.weight',
  'ffn_norm.weight': 'pre_feedforward_layernorm.weight',
  'post_ffw_norm.weight': 'post_feedforward_layernorm.weight',
};
/** Phi-3: the fused projections as HF has them (attn_qkv = qkv_proj; ffn_up = gate_up_proj, gate rows first). */
const PHI3_LAYER_TENSORS: Record<string, string> = {
  'attn_norm.weight': 'input_layernorm.weight',
  'attn_qkv.weight': 'self_attn.qkv_proj.weight',
  'attn_output.weight': 'self_attn.o_proj.weight',
  'ffn_norm.weight': 'post_attention_layernorm.weight',
  'ffn_up.weight': 'mlp.gate_up_proj.weight',
  'ffn_down.weight': 'mlp.down_proj.weight',
};
const LAYER_TENSORS: Record<Architecture, Record<string, string>> = {
  llama: LLAMA_LAYER_TENSORS,
  mistral: LLAMA_LAYER_TENSORS,
  qwen2: LLAMA_LAYER_TENSORS,
  qwen3: LLAMA_LAYER_TENSORS,
  gemma2: GEMMA_LAYER_TENSORS,
  gemma3: GEMMA_LAYER_TENSORS,
  phi3: PHI3_LAYER_TENSORS,
};
const GLOBAL_TENSORS: Record<string, string> = { 'token_embd.weight': 'model.embed_tokens.weight', 'output_norm.weight': 'model.norm.weight', 'output.weight': 'lm_head.weight' };
/** Tensors read into the spec rather than used as weights, per architecture (llama.cpp loads no others). */
const SPEC_TENSORS: Record<Architecture, ReadonlySet<string>> = {
  llama: new Set(['rope_freqs.weight']),
  mistral: new Set(['rope_freqs.weight']),
  qwen2: new Set(['rope_freqs.weight']),
  qwen3: new Set(['rope_freqs.weight']),
  gemma2: new Set(),
  gemma3: new Set(),
  phi3: new Set(['rope_factors_long.weight', 'rope_factors_short.weight']),
};

function hfName(ggufName: string, architecture: Architecture): string | undefined {
  if (GLOBAL_TENSORS[ggufName]) return GLOBAL_TENSORS[ggufName];
  const match = /^blk\.(0|[1-9]\d*)\.(.+)$/.exec(ggufName);
  const suffix = match && LAYER_TENSORS[architecture][match[2]];
  return suffix ? `model.layers.${match![1]}.${suffix}` : undefined;
}

function ggufWeights(header: GgufHeader, spec: ModelSpec, fail: (problem: string) => never): Map<string, WeightRef> {
  const arch = metadataString(header, 'general.architecture', true);
  const weights = new Map<string, WeightRef>();
  const unknown: string[] = [];
  for (const tensor of header.tensors) {
    if (SPEC_TENSORS[spec.architecture].has(tensor.name)) continue;
    const name = hfName(tensor.name, spec.architecture);
    if (!name) {
      unknown.push(tensor.name);
      continue;
    }
    const layer = /^model\.layers\.(\d+)\./.exec(name);
    if (layer && Number(layer[1]) >= spec.numLayers) fail(`tensor "${tensor.name}" is for block ${layer[1]}, but ${arch}.block_count is ${spec.numLayers}`);
    const permuteHeads = PERMUTED_QK.has(arch) ? (/q_proj\./.test(name) ? spec.numHeads : /k_proj\./.test(name) ? spec.numKvHeads : 0) : 0;
    weights.set(name, ggufWeight(header, tensor, permuteHeads ? spec.headDim : 0));
  }
  // llama.cpp refuses files with tensors its graph does not use; so do we, rather than run a different model.
  if (unknown.length) fail(`holds tensors Persona Lens does not know for "${arch}" (${unknown.slice(0, 5).join(', ')}${unknown.length > 5 ? `, … ${unknown.length} in all` : ''}); it may be another variant of the architecture`);
  return weights;
}

/**
 * HF row r of a q/k weight lives at GGUF row `ggufRow(r)`: inside each head, HF's halves [0, hd/2) and [hd/2, hd)
 * were interleaved by the converter (row h·hd + j·hd/2 + i went to h·hd + 2i + j).
 */
function ggufRowOf(hfRow: number, headDim: number): number {
  const head = Math.floor(hfRow / headDim);
  const within = hfRow % headDim;
  const half = headDim / 2;
  return head * headDim + 2 * (within % half) + Math.floor(within / half);
}

/** `headDim` > 0: rows are un-permuted per head (see ggufRowOf). */
function ggufWeight(header: GgufHeader, tensor: GgufTensorInfo, headDim: number): WeightRef {
  const shape = [...tensor.dims].reverse();
  const k = tensor.dims[0];
  const totalRows = tensor.dims.slice(1).reduce((a, b) => a * b, 1);
  const is1d = tensor.dims.length === 1;
  const decode = (first: number, count: number) => dequantizeGgml(tensor.type.name, readGgufTensorBytes(header, tensor, first, count), count * k);

  /** Reads HF rows [first, first+count) by reading the whole heads that hold them from the file. */
  function permutedRows<T>(first: number, count: number, read: (ggufFirst: number, ggufCount: number) => T, pick: (block: T, ggufRowInBlock: number, outRow: number) => void): void {
    const headFirst = Math.floor(first / headDim);
    const headEnd = Math.ceil((first + count) / headDim);
    const block = read(headFirst * headDim, (headEnd - headFirst) * headDim);
    for (let r = 0; r < count; r++) pick(block, ggufRowOf(first + r, headDim) - headFirst * headDim, r);
  }

  const readRows = (first: number, count: number): Float32Array => {
    if (is1d) {
      // A bias: one row of values, permuted value by value like the rows of its weight.
      const values = decode(0, 1);
      if (!headDim) return values;
      return Float32Array.from({ length: values.length }, (_, i) => values[ggufRowOf(i, headDim)]);
    }
    if (first < 0 || count < 0 || first + count > totalRows) throw new RangeError(`rows ${first}..${first + count} are outside ${tensor.name} (${totalRows} rows)`);
    if (!headDim) return decode(first, count);
    const out = new Float32Array(count * k);
    permutedRows(first, count, decode, (values, row, outRow) => out.set(values.subarray(row * k, (row + 1) * k), outRow * k));
    return out;
  };

  const exactBits = tensor.type.name === 'Q8_0' ? 8 : tensor.type.name === 'Q4_0' ? 4 : undefined;
  const exactBlocks: WeightRef['exactBlocks'] = exactBits && !is1d
    ? {
        bits: exactBits,
        readRows(first, count, packed, scales) {
          const type = tensor.type.name as 'Q8_0' | 'Q4_0';
          const rowPacked = packed.length / count;
          const rowScales = scales.length / count;
          if (!headDim) return ggmlBlocksToMatMulNBits(type, readGgufTensorBytes(header, tensor, first, count), count, k, packed, scales);
          const rowBytes = tensor.byteLength / totalRows;
          permutedRows(first, count, (f, c) => readGgufTensorBytes(header, tensor, f, c), (bytes, row, outRow) =>
            ggmlBlocksToMatMulNBits(type, bytes.subarray(row * rowBytes, (row + 1) * rowBytes), 1, k, packed.subarray(outRow * rowPacked, (outRow + 1) * rowPacked), scales.subarray(outRow * rowScales, (outRow + 1) * rowScales)),
          );
        },
      }
    : undefined;
  return { file: header.path, shape, dtype: tensor.type.name, readRows, exactBlocks };
}

/** Identifies the file: its header bytes (layout and metadata), size and modification time. */
function ggufFingerprint(header: GgufHeader): string {
  const hash = createHash('sha256');
  const bytes = Buffer.alloc(header.headerBytes);
  const fd = openSync(header.path, 'r');
  try {
    readSync(fd, bytes, 0, bytes.length, 0);
  } finally {
    closeSync(fd);
  }
  hash.update(bytes);
  const st = statSync(header.path);
  hash.update(`gguf:${st.size}:${st.mtimeMs}`);
  return hash.digest('hex').slice(0, 16);
}

/** True when `modelPath` names a GGUF file rather than a checkpoint folder. */
export function isGgufPath(modelPath: string): boolean {
  return /\.gguf$/i.test(modelPath);
}
