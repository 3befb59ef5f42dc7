/**
 * Writes an HF checkpoint folder as a GGUF model file the way llama.cpp's `convert_hf_to_gguf.py` does, written
 * here from the converter's code and independent of the reader under test:
 *  - names from gguf-py's TENSOR_NAMES (`blk.N.attn_q.weight`, …), ggml dims innermost first ([in, out]);
 *  - LLAMA-arch models (llama, mistral) get q/k rows permuted per head (`LlamaModel.permute`), qwen2/qwen3 not;
 *  - Llama 3 rope scaling becomes a `rope_freqs.weight` tensor (`LlamaModel.generate_extra_tensors`);
 *  - Gemma 2 / 3 (`Gemma2Model`, `Gemma3Model`, conversion/gemma.py): 1 added (in float32) to every `*norm.weight`,
 *    the sandwich norms as post_attention_norm / ffn_norm / post_ffw_norm, Gemma 2's lm_head dropped, and only the
 *    metadata those classes write (no query_pre_attn_scalar, no sliding-window pattern; Gemma 2 no rope base);
 *  - Phi-3 (`Phi3MiniModel`, conversion/phi.py): qkv_proj → attn_qkv, gate_up_proj → ffn_up as they are, no
 *    key_length, rope.dimension_count from partial_rotary_factor, longrope as rope_factors_long / _short tensors
 *    with rope.scaling.attn_factor and original_context_length (and no rope.scaling.type);
 *  - 1-D tensors (norms, biases) stay F32 as the converter keeps them; matrices take the requested type;
 *  - tokenizer metadata from the folder's tokenizer.json (`_set_vocab_gpt2`), via hfTokenizerToGguf.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { openCheckpoint } from '../../src/core/model/checkpoint';
import type { GgufValue } from '../../src/core/gguf/ggufFormat';
import { writeGguf, type GgufBlockTensor, type GgufTensor } from '../../src/core/gguf/ggufWriter';
import type { GgmlTypeName } from '../../src/core/gguf/ggmlTypes';
import { encodeGgml } from './ggmlEncode';
import { hfTokenizerToGguf } from './hfTokenizerToGguf';

/** gguf-py LlamaFileType for the whole-file type we write (general.file_type). */
const FILE_TYPES: Partial<Record<GgmlTypeName, number>> = { F32: 0, F16: 1, Q4_0: 2, Q4_1: 3, Q8_0: 7, Q5_0: 8, Q5_1: 9, Q4_K: 15, Q5_K: 17, Q6_K: 18, BF16: 32 };

export interface GgufModelOptions {
  /** Type of every matrix (default F32); `typeOf` overrides per GGUF tensor name. */
  type?: GgmlTypeName;
  typeOf?: (ggufName: string) => GgmlTypeName | undefined;
  /** Extra or replacing metadata entries (hostile cases); undefined removes the key. */
  metadata?: [string, GgufValue | undefined][];
  /** Tensors appended as they are (hostile cases). */
  extraTensors?: GgufTensor[];
}

const u32 = (value: number): GgufValue => ({ type: 'u32', value });
const f32 = (value: number): GgufValue => ({ type: 'f32', value });
const str = (value: string): GgufValue => ({ type: 'string', value });

/** LlamaModel.permute: [n_head, 2, hd/2, …] → swap the middle axes. */
function permuteRows(values: Float32Array, rows: number, cols: number, heads: number): Float32Array {
  const headDim = rows / heads;
  const half = headDim / 2;
  const out = new Float32Array(values.length);
  for (let h = 0; h < heads; h++)
    for (let j = 0; j < 2; j++)
      for (let i = 0; i < half; i++) {
        const from = h * headDim + j * half + i;
        const to = h * headDim + i * 2 + j;
        out.set(values.subarray(from * cols, (from + 1) * cols), to * cols);
      }
  return out;
}

export function writeGgufModel(checkpointDir: string, file: string, options: GgufModelOptions = {}): string {
  const ckpt = openCheckpoint(checkpointDir);
  const { spec } = ckpt;
  const config = JSON.parse(readFileSync(path.join(checkpointDir, 'config.json'), 'utf8'));
  // MistralForCausalLM converts as LlamaModel (arch "llama").
  const arch = spec.architecture === 'mistral' ? 'llama' : spec.architecture;
  const permuted = arch === 'llama';
  const fileType = options.type ?? 'F32';
  const gemma = arch === 'gemma2' || arch === 'gemma3';
  const metadata = new Map<string, GgufValue>([
    ['general.architecture', str(arch)],
    ['general.name', str(path.basename(checkpointDir))],
    [`${arch}.block_count`, u32(spec.numLayers)],
    [`${arch}.context_length`, u32(spec.maxPositions)],
    [`${arch}.embedding_length`, u32(spec.hiddenSize)],
    [`${arch}.feed_forward_length`, u32(spec.intermediateSize)],
    [`${arch}.attention.head_count`, u32(spec.numHeads)],
    [`${arch}.attention.head_count_kv`, u32(spec.numKvHeads)],
    [`${arch}.rope.freq_base`, f32(spec.rope.theta)],
    [`${arch}.attention.layer_norm_rms_epsilon`, f32(spec.rmsNormEps)],
    ['general.file_type', u32(FILE_TYPES[fileType] ?? 0)],
  ]);
  // Phi3MiniModel writes no key_length; the Gemma classes always do.
  if ((config.head_dim != null && arch !== 'phi3') || gemma) {
    metadata.set(`${arch}.attention.key_length`, u32(spec.headDim));
    metadata.set(`${arch}.attention.value_length`, u32(spec.headDim));
  }
  if (arch === 'llama') {
    metadata.set(`${arch}.vocab_size`, u32(spec.vocabSize));
    metadata.set(`${arch}.rope.dimension_count`, u32(spec.headDim));
  }
  const extra: GgufTensor[] = [];
  if (arch === 'gemma2') {
    // Gemma2Model.set_gguf_parameters does not write a rope base (llama.cpp's default 10000 is HF's).
    metadata.delete(`${arch}.rope.freq_base`);
    metadata.set(`${arch}.attn_logit_softcapping`, f32(config.attn_logit_softcapping));
    metadata.set(`${arch}.final_logit_softcapping`, f32(config.final_logit_softcapping));
    metadata.set(`${arch}.attention.sliding_window`, u32(config.sliding_window));
  }
  if (arch === 'gemma3') {
    const rope = config.rope_scaling ?? {};
    if (rope.rope_type === 'linear' && rope.factor != null) {
      metadata.set(`${arch}.rope.scaling.type`, str('linear'));
      metadata.set(`${arch}.rope.scaling.factor`, f32(rope.factor));
    }
    if (config.rope_local_base_freq != null) metadata.set(`${arch}.rope.freq_base_swa`, f32(config.rope_local_base_freq));
    if (config.final_logit_softcapping) metadata.set(`${arch}.final_logit_softcapping`, f32(config.final_logit_softcapping));
    if (config.sliding_window_pattern !== 1) metadata.set(`${arch}.attention.sliding_window`, u32(config.sliding_window));
  }
  if (arch === 'phi3') {
    const original = config.original_max_position_embeddings ?? config.max_position_embeddings;
    // int(rot_pct * n_embd) // n_head
    const ropeDims = Math.floor(Math.floor((config.partial_rotary_factor ?? 1) * spec.hiddenSize) / spec.numHeads);
    metadata.set(`${arch}.rope.scaling.original_context_length`, u32(original));
    metadata.set(`${arch}.rope.dimension_count`, u32(ropeDims));
    metadata.set(`${arch}.attention.sliding_window`, u32(config.sliding_window ?? 0));
    const rope = config.rope_scaling;
    if (rope?.long_factor) {
      const scale = config.max_position_embeddings / original;
      metadata.set(`${arch}.rope.scaling.attn_factor`, f32(scale > 1 ? Math.sqrt(1 + Math.log(scale) / Math.log(original)) : 1));
      extra.push({ name: 'rope_factors_long.weight', dims: [rope.long_factor.length], data: Float32Array.from(rope.long_factor) });
      extra.push({ name: 'rope_factors_short.weight', dims: [rope.short_factor.length], data: Float32Array.from(rope.short_factor) });
    }
  }
  for (const [key, value] of hfTokenizerToGguf(checkpointDir)) metadata.set(key, value);
  for (const [key, value] of options.metadata ?? []) {
    if (value === undefined) metadata.delete(key);
    else metadata.set(key, value);
  }

  const tensors: (GgufTensor | GgufBlockTensor)[] = [];
  const read = (name: string) => {
    const ref = ckpt.weights.get(name)!;
    return { values: ref.readRows(0, ref.shape[0]), shape: ref.shape };
  };
  const add = (from: string, to: string, heads = 0) => {
    if (!ckpt.weights.has(from)) return;
    const { values: raw, shape } = read(from);
    let values = heads ? permuteRows(raw, shape[0], shape.length > 1 ? shape[1] : 1, heads) : raw;
    // Gemma: `data_torch + 1` on every norm, after the converter made BF16 float32 (Float32Array rounds as torch does).
    if (gemma && from.endsWith('norm.weight')) values = values.map((w) => w + 1);
    if (shape.length === 1) {
      tensors.push({ name: to, dims: [shape[0]], data: values });
      return;
    }
    const type = options.typeOf?.(to) ?? fileType;
    const dims = [shape[1], shape[0]];
    tensors.push(type === 'F32' ? { name: to, dims, data: values } : { name: to, dims, ggmlType: type, bytes: encodeGgml(type, values) });
  };
  tensors.push(...extra);
  add('model.embed_tokens.weight', 'token_embd.weight');
  if (spec.rope.llama3) tensors.push({ name: 'rope_freqs.weight', dims: [spec.headDim / 2], data: llama3RopeFactors(spec.headDim, spec.rope.theta, spec.rope.llama3) });
  add('model.norm.weight', 'output_norm.weight');
  if (ckpt.weights.has('lm_head.weight') && arch !== 'gemma2') add('lm_head.weight', 'output.weight');
  for (let l = 0; l < spec.numLayers; l++) {
    const hf = `model.layers.${l}`;
    const gg = `blk.${l}`;
    add(`${hf}.input_layernorm.weight`, `${gg}.attn_norm.weight`);
    if (arch === 'phi3') {
      add(`${hf}.self_attn.qkv_proj.weight`, `${gg}.attn_qkv.weight`);
      add(`${hf}.self_attn.o_proj.weight`, `${gg}.attn_output.weight`);
      add(`${hf}.post_attention_layernorm.weight`, `${gg}.ffn_norm.weight`);
      add(`${hf}.mlp.gate_up_proj.weight`, `${gg}.ffn_up.weight`);
      add(`${hf}.mlp.down_proj.weight`, `${gg}.ffn_down.weight`);
      continue;
    }
    for (const part of ['weight', 'bias']) {
      add(`${hf}.self_attn.q_proj.${part}`, `${gg}.attn_q.${part}`, permuted ? spec.numHeads : 0);
      add(`${hf}.self_attn.k_proj.${part}`, `${gg}.attn_k.${part}`, permuted ? spec.numKvHeads : 0);
      add(`${hf}.self_attn.v_proj.${part}`, `${gg}.attn_v.${part}`);
      add(`${hf}.self_attn.o_proj.${part}`, `${gg}.attn_output.${part}`);
    }
    add(`${hf}.self_attn.q_norm.weight`, `${gg}.attn_q_norm.weight`);
    add(`${hf}.self_attn.k_norm.weight`, `${gg}.attn_k_norm.weight`);
    if (gemma) {
      add(`${hf}.post_attention_layernorm.weight`, `${gg}.post_attention_norm.weight`);
      add(`${hf}.pre_feedforward_layernorm.weight`, `${gg}.ffn_norm.weight`);
      add(`${hf}.post_feedforward_layernorm.weight`, `${gg}.post_ffw_norm.weight`);
    } else {
      add(`${hf}.post_attention_layernorm.weight`, `${gg}.ffn_norm.weight`);
    }
    for (const part of ['weight', 'bias']) {
      add(`${hf}.mlp.gate_proj.${part}`, `${gg}.ffn_gate.${part}`);
      add(`${hf}.mlp.up_proj.${part}`, `${gg}.ffn_up.${part}`);
      add(`${hf}.mlp.down_proj.${part}`, `${gg}.ffn_down.${part}`);
    }
  }
  tensors.push(...(options.extraTensors ?? []));
  writeGguf(file, metadata, tensors);
  return file;
}

/** LlamaModel.generate_extra_tensors: 1, factor or the smooth blend per frequency, in float64 then float32. */
function llama3RopeFactors(dim: number, base: number, s: { factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositions: number }): Float32Array {
  const lowWavelen = s.originalMaxPositions / s.lowFreqFactor;
  const highWavelen = s.originalMaxPositions / s.highFreqFactor;
  const factors = new Float32Array(dim / 2);
  for (let i = 0; i < dim / 2; i++) {
    // torch: 1.0 / (base ** (arange(0, dim, 2, float32) / dim)) in float32
    const freq = Math.fround(1 / Math.fround(base ** Math.fround((2 * i) / dim)));
    const wavelen = (2 * Math.PI) / freq;
    if (wavelen < highWavelen) factors[i] = 1;
    else if (wavelen > lowWavelen) factors[i] = s.factor;
    else {
      const smooth = (s.originalMaxPositions / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
      factors[i] = 1 / ((1 - smooth) / s.factor + smooth);
    }
  }
  return factors;
}
