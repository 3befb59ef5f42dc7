/**
 * Writes an HF checkpoint folder as a GGUF model file the way llama.cpp's `convert_hf_to_gguf.py` does, written
 * here from the converter's code and independent of the reader under test:
 *  - names from gguf-py's TENSOR_NAMES (`blk.N.attn_q.weight`, …), ggml dims innermost first ([in, out]);
 *  - LLAMA-arch models (llama, mistral) get q/k rows permuted per head (`LlamaModel.permute`), qwen2/qwen3 not;
 *  - Llama 3 rope scaling becomes a `rope_freqs.weight` tensor (`LlamaModel.generate_extra_tensors`);
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
  if (config.head_dim != null) {
    metadata.set(`${arch}.attention.key_length`, u32(spec.headDim));
    metadata.set(`${arch}.attention.value_length`, u32(spec.headDim));
  }
  if (arch === 'llama') {
    metadata.set(`${arch}.vocab_size`, u32(spec.vocabSize));
    metadata.set(`${arch}.rope.dimension_count`, u32(spec.headDim));
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
    const values = heads ? permuteRows(raw, shape[0], shape.length > 1 ? shape[1] : 1, heads) : raw;
    if (shape.length === 1) {
      tensors.push({ name: to, dims: [shape[0]], data: values });
      return;
    }
    const type = options.typeOf?.(to) ?? fileType;
    const dims = [shape[1], shape[0]];
    tensors.push(type === 'F32' ? { name: to, dims, data: values } : { name: to, dims, ggmlType: type, bytes: encodeGgml(type, values) });
  };
  add('model.embed_tokens.weight', 'token_embd.weight');
  if (spec.rope.llama3) tensors.push({ name: 'rope_freqs.weight', dims: [spec.headDim / 2], data: llama3RopeFactors(spec.headDim, spec.rope.theta, spec.rope.llama3) });
  add('model.norm.weight', 'output_norm.weight');
  if (ckpt.weights.has('lm_head.weight')) add('lm_head.weight', 'output.weight');
  for (let l = 0; l < spec.numLayers; l++) {
    const hf = `model.layers.${l}`;
    const gg = `blk.${l}`;
    add(`${hf}.input_layernorm.weight`, `${gg}.attn_norm.weight`);
    for (const part of ['weight', 'bias']) {
      add(`${hf}.self_attn.q_proj.${part}`, `${gg}.attn_q.${part}`, permuted ? spec.numHeads : 0);
      add(`${hf}.self_attn.k_proj.${part}`, `${gg}.attn_k.${part}`, permuted ? spec.numKvHeads : 0);
      add(`${hf}.self_attn.v_proj.${part}`, `${gg}.attn_v.${part}`);
      add(`${hf}.self_attn.o_proj.${part}`, `${gg}.attn_output.${part}`);
    }
    add(`${hf}.self_attn.q_norm.weight`, `${gg}.attn_q_norm.weight`);
    add(`${hf}.self_attn.k_norm.weight`, `${gg}.attn_k_norm.weight`);
    add(`${hf}.post_attention_layernorm.weight`, `${gg}.ffn_norm.weight`);
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
