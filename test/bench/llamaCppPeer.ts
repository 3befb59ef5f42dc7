/**
 * The llama.cpp peer of the bench: the same random weights as a GGUF model (qwen2 architecture, Q8_0 or Q4_0 as
 * llama.cpp's reference quantizers make them, tokenizer from tokenizer.json), run by `node-llama-cpp` (prebuilt
 * llama.cpp from npm) with the same number of threads. node-llama-cpp is installed on demand into the bench
 * folder, never into the project. Bench code only: nothing here ships.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { openCheckpoint } from '../../src/core/model/checkpoint';
import { floatToHalf, readTensorBytes, toFloat32 } from '../../src/core/model/safetensors';
import { writeGguf, type GgufBlockTensor, type GgufTensor, type GgufValue } from '../../src/core/vectors/gguf';
import { benchRoot } from './benchCheckpoint';

export const NODE_LLAMA_CPP_VERSION = '3.22.1';

/** llama.cpp's quantize_row_q8_0_ref: d = max|x| / 127, q = round(x / d); blocks of 32 along the row. */
function q8_0(values: Float32Array): Uint8Array {
  const out = new Uint8Array((values.length / 32) * 34);
  const view = new DataView(out.buffer);
  for (let b = 0; b < values.length / 32; b++) {
    let amax = 0;
    for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(values[b * 32 + j]));
    const d = amax / 127;
    const id = d ? 1 / d : 0;
    view.setUint16(b * 34, floatToHalf(d), true);
    for (let j = 0; j < 32; j++) view.setInt8(b * 34 + 2 + j, Math.round(values[b * 32 + j] * id));
  }
  return out;
}

/** llama.cpp's quantize_row_q4_0_ref: d = (signed extreme) / −8, q = min(15, ⌊x/d + 8.5⌋); value j and j+16 share a byte. */
function q4_0(values: Float32Array): Uint8Array {
  const out = new Uint8Array((values.length / 32) * 18);
  const view = new DataView(out.buffer);
  for (let b = 0; b < values.length / 32; b++) {
    let max = 0;
    for (let j = 0; j < 32; j++) if (Math.abs(values[b * 32 + j]) > Math.abs(max)) max = values[b * 32 + j];
    const d = max / -8;
    const id = d ? 1 / d : 0;
    view.setUint16(b * 18, floatToHalf(d), true);
    for (let j = 0; j < 16; j++) {
      const lo = Math.min(15, Math.trunc(values[b * 32 + j] * id + 8.5));
      const hi = Math.min(15, Math.trunc(values[b * 32 + 16 + j] * id + 8.5));
      out[b * 18 + 2 + j] = lo | (hi << 4);
    }
  }
  return out;
}

const u32 = (value: number): GgufValue => ({ type: 'u32', value });
const f32 = (value: number): GgufValue => ({ type: 'f32', value });
const str = (value: string): GgufValue => ({ type: 'string', value });
const strings = (items: string[]): GgufValue => ({ type: 'array', elementType: 'string', items: items.map(str) });

/** The bench's qwen2 checkpoint (F32 safetensors, tied embeddings) as a GGUF model file. */
export function writeQwen2Gguf(checkpointDir: string, file: string, type: 'Q8_0' | 'Q4_0'): string {
  if (existsSync(file)) return file;
  const ckpt = openCheckpoint(checkpointDir);
  const { spec } = ckpt;
  const tokenizer = JSON.parse(readFileSync(path.join(checkpointDir, 'tokenizer.json'), 'utf8'));
  const tokens: string[] = new Array(spec.vocabSize);
  const types: number[] = new Array(spec.vocabSize).fill(1); // NORMAL
  for (const [token, id] of Object.entries<number>(tokenizer.model.vocab)) tokens[id] = token;
  for (const added of tokenizer.added_tokens as { id: number; content: string; special: boolean }[]) {
    tokens[added.id] = added.content;
    types[added.id] = added.special ? 3 : 4; // CONTROL, USER_DEFINED
  }
  for (let id = 0; id < spec.vocabSize; id++)
    if (tokens[id] === undefined) {
      tokens[id] = `[PAD${id}]`; // as llama.cpp's converter pads the vocabulary
      types[id] = 5; // UNUSED
    }
  const merges = (tokenizer.model.merges as (string | [string, string])[]).map((m) => (Array.isArray(m) ? m.join(' ') : m));
  const metadata = new Map<string, GgufValue>([
    ['general.architecture', str('qwen2')],
    ['general.name', str('persona-lens bench qwen2')],
    ['general.file_type', u32(type === 'Q8_0' ? 7 : 2)],
    ['qwen2.block_count', u32(spec.numLayers)],
    ['qwen2.context_length', u32(spec.maxPositions)],
    ['qwen2.embedding_length', u32(spec.hiddenSize)],
    ['qwen2.feed_forward_length', u32(spec.intermediateSize)],
    ['qwen2.attention.head_count', u32(spec.numHeads)],
    ['qwen2.attention.head_count_kv', u32(spec.numKvHeads)],
    ['qwen2.rope.freq_base', f32(spec.rope.theta)],
    ['qwen2.attention.layer_norm_rms_epsilon', f32(spec.rmsNormEps)],
    ['tokenizer.ggml.model', str('gpt2')],
    ['tokenizer.ggml.pre', str('qwen2')],
    ['tokenizer.ggml.tokens', strings(tokens)],
    ['tokenizer.ggml.token_type', { type: 'array', elementType: 'i32', items: types.map((value) => ({ type: 'i32', value })) }],
    ['tokenizer.ggml.merges', strings(merges)],
    ['tokenizer.ggml.eos_token_id', u32(spec.eosTokenIds[0] ?? 151645)],
    ['tokenizer.ggml.padding_token_id', u32(151643)],
    ['tokenizer.ggml.add_bos_token', { type: 'bool', value: false }],
  ]);
  const read = (name: string) => {
    const ref = ckpt.weights.get(name)!;
    return { values: toFloat32(readTensorBytes(ref.file, ref.info), ref.info.dtype), shape: ref.info.shape };
  };
  const tensors: (GgufTensor | GgufBlockTensor)[] = [];
  // ggml dims are innermost first: an HF [out, in] weight is [in, out].
  const matrix = (from: string, to: string) => {
    const { values, shape } = read(from);
    tensors.push({ name: to, dims: [shape[1], shape[0]], ggmlType: type, bytes: type === 'Q8_0' ? q8_0(values) : q4_0(values) });
  };
  const vector = (from: string, to: string) => {
    const { values } = read(from);
    tensors.push({ name: to, dims: [values.length], data: values });
  };
  matrix('model.embed_tokens.weight', 'token_embd.weight');
  for (let l = 0; l < spec.numLayers; l++) {
    const p = `model.layers.${l}`;
    vector(`${p}.input_layernorm.weight`, `blk.${l}.attn_norm.weight`);
    for (const [hf, gg] of [['q_proj', 'attn_q'], ['k_proj', 'attn_k'], ['v_proj', 'attn_v']]) {
      matrix(`${p}.self_attn.${hf}.weight`, `blk.${l}.${gg}.weight`);
      vector(`${p}.self_attn.${hf}.bias`, `blk.${l}.${gg}.bias`);
    }
    matrix(`${p}.self_attn.o_proj.weight`, `blk.${l}.attn_output.weight`);
    vector(`${p}.post_attention_layernorm.weight`, `blk.${l}.ffn_norm.weight`);
    matrix(`${p}.mlp.gate_proj.weight`, `blk.${l}.ffn_gate.weight`);
    matrix(`${p}.mlp.up_proj.weight`, `blk.${l}.ffn_up.weight`);
    matrix(`${p}.mlp.down_proj.weight`, `blk.${l}.ffn_down.weight`);
  }
  vector('model.norm.weight', 'output_norm.weight');
  mkdirSync(path.dirname(file), { recursive: true });
  writeGguf(file, metadata, tensors);
  return file;
}

/** Installs node-llama-cpp (CPU build only) into the bench folder once; returns its folder, or why it could not. */
export function installNodeLlamaCpp(): { dir: string } | { error: string } {
  const dir = path.join(benchRoot(), 'llama-cpp-peer');
  if (existsSync(path.join(dir, 'node_modules', 'node-llama-cpp', 'package.json'))) return { dir };
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'persona-lens-bench-peer', private: true }));
    // --omit=optional skips the CUDA / Vulkan builds; the CPU build is named explicitly.
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--omit=optional', `node-llama-cpp@${NODE_LLAMA_CPP_VERSION}`, `@node-llama-cpp/linux-x64@${NODE_LLAMA_CPP_VERSION}`], { cwd: dir, stdio: 'ignore', timeout: 600000 });
    return { dir };
  } catch (err) {
    return { error: `npm install node-llama-cpp failed: ${(err as Error).message.split('\n')[0]}` };
  }
}

export interface PeerFigures {
  prefillMs: number;
  decodeMs: number;
  threads: number;
}

/** Runs llamaCppRun.mjs in the peer folder: prefill of the same token ids, then greedy decode, as our bench does. */
export function runLlamaCpp(peerDir: string, modelFile: string, tokens: number[], threads: number): PeerFigures {
  const script = path.join(__dirname, 'llamaCppRun.mjs');
  const out = execFileSync(process.execPath, [script, peerDir, modelFile, JSON.stringify(tokens), String(threads)], { encoding: 'utf8', maxBuffer: 1 << 20, timeout: 900000 });
  return JSON.parse(out.trim().split('\n').at(-1)!);
}
