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
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { validateWeights, type Checkpoint, type WeightRef } from '../model/checkpoint';
import type { Architecture, ModelSpec } from '../model/config';
import { GgufError } from './ggufFormat';
import { metadataNumber, metadataString, readGgufHeader, readGgufTensorBytes, type GgufHeader, type GgufTensorInfo } from './ggufFile';
import { dequantizeGgml, ggmlBlocksToMatMulNBits } from './ggmlTypes';

/** GGUF `general.architecture` values the engine runs, and the engine architecture each computes as. */
const GGUF_ARCHITECTURES: Record<string, Architecture> = { llama: 'llama', qwen2: 'qwen2', qwen3: 'qwen3' };

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
  const ropeDims = int('rope.dimension_count', headDim);
  if (ropeDims !== headDim) fail(`${key('rope.dimension_count')} is ${ropeDims}, not the head dimension ${headDim}: partial rotary embeddings are not supported`);
  const scaling = metadataString(header, key('rope.scaling.type'));
  if (scaling && scaling !== 'none') fail(`${key('rope.scaling.type')} "${scaling}" is not supported (supported: none, and Llama 3's rope_freqs tensor)`);
  const eps = metadataNumber(header, key('attention.layer_norm_rms_epsilon'), true);
  if (!(eps > 0)) fail(`${key('attention.layer_norm_rms_epsilon')} must be positive (got ${eps})`);
  const theta = metadataNumber(header, key('rope.freq_base')) ?? 10000;
  if (!(theta > 0)) fail(`${key('rope.freq_base')} must be positive (got ${theta})`);

  const embeddings = header.tensorsByName.get('token_embd.weight') ?? fail('has no token_embd.weight tensor');
  if (embeddings.dims.length !== 2 || embeddings.dims[0] !== hiddenSize) fail(`token_embd.weight has dims [${embeddings.dims}], expected [${hiddenSize}, vocab]`);
  const has = (name: string) => header.tensorsByName.has(name);
  const eosTokenIds = ['eos_token_id', 'eot_token_id', 'eom_token_id'].map((k) => metadataNumber(header, `tokenizer.ggml.${k}`)).filter((id): id is number => id !== undefined);
  return {
    architecture,
    hiddenSize,
    intermediateSize: int('feed_forward_length'),
    numLayers: int('block_count'),
    numHeads,
    numKvHeads,
    headDim,
    vocabSize: embeddings.dims[1],
    rmsNormEps: eps,
    rope: { theta, frequencyFactors: ropeFrequencyFactors(header, headDim, fail) },
    maxPositions: int('context_length', 4096),
    // HF Qwen2 always has q/k/v biases; llama / qwen3 have them with attention_bias, as the file shows.
    qkvBias: architecture === 'qwen2' || has('blk.0.attn_q.bias'),
    oBias: has('blk.0.attn_output.bias'),
    mlpBias: has('blk.0.ffn_up.bias'),
    qkNorm: architecture === 'qwen3',
    tieWordEmbeddings: !has('output.weight'),
    bosTokenId: metadataNumber(header, 'tokenizer.ggml.bos_token_id'),
    eosTokenIds: [...new Set(eosTokenIds)],
  };
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

/** GGUF tensor name → HF name, per layer (gguf-py `constants.py` TENSOR_NAMES / `tensor_mapping.py`). */
const LAYER_TENSORS: Record<string, string> = {
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
const GLOBAL_TENSORS: Record<string, string> = { 'token_embd.weight': 'model.embed_tokens.weight', 'output_norm.weight': 'model.norm.weight', 'output.weight': 'lm_head.weight' };
/** Tensors read into the spec rather than used as weights. */
const SPEC_TENSORS = new Set(['rope_freqs.weight']);

function hfName(ggufName: string): string | undefined {
  if (GLOBAL_TENSORS[ggufName]) return GLOBAL_TENSORS[ggufName];
  const match = /^blk\.(0|[1-9]\d*)\.(.+)$/.exec(ggufName);
  const suffix = match && LAYER_TENSORS[match[2]];
  return suffix ? `model.layers.${match![1]}.${suffix}` : undefined;
}

function ggufWeights(header: GgufHeader, spec: ModelSpec, fail: (problem: string) => never): Map<string, WeightRef> {
  const arch = metadataString(header, 'general.architecture', true);
  const weights = new Map<string, WeightRef>();
  const unknown: string[] = [];
  for (const tensor of header.tensors) {
    if (SPEC_TENSORS.has(tensor.name)) continue;
    const name = hfName(tensor.name);
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
