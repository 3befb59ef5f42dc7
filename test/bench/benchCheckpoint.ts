/**
 * Random checkpoints with real shapes (Qwen2.5-0.5B, F32; Qwen2.5-7B, BF16 as the hub ships it), written in pieces
 * so the writer never holds the model in memory. Reused across runs.
 */
import { closeSync, existsSync, mkdirSync, openSync, writeFileSync, writeSync, copyFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { seededNormal, tokenizerFiles } from '../helpers/randomCheckpoint';

export interface BenchShape {
  name: string;
  hidden: number;
  intermediate: number;
  layers: number;
  heads: number;
  kvHeads: number;
  vocab: number;
  tied: boolean;
}

export const QWEN_05B: BenchShape = { name: 'qwen2.5-0.5b-shaped', hidden: 896, intermediate: 4864, layers: 24, heads: 14, kvHeads: 2, vocab: 151936, tied: true };
/** Qwen2.5-7B-Instruct's shape: 28 layers, d 3584, intermediate 18944, 28 / 4 heads, vocab 152064, untied lm_head. */
export const QWEN_7B: BenchShape = { name: 'qwen2.5-7b-shaped', hidden: 3584, intermediate: 18944, layers: 28, heads: 28, kvHeads: 4, vocab: 152064, tied: false };

export function benchRoot(): string {
  return process.env.PERSONA_LENS_BENCH_DIR ?? path.join(os.tmpdir(), 'persona-lens-bench');
}

export function benchCheckpointDir(shape: BenchShape = QWEN_05B, dtype: 'F32' | 'BF16' = 'F32'): string {
  return path.join(benchRoot(), dtype === 'F32' ? shape.name : `${shape.name}-${dtype.toLowerCase()}`);
}

/**
 * Writes the checkpoint once (reused while config.json exists; written last). Values are N(mean, std) drawn from a
 * pool of seeded normals read at pseudo-random offsets, so a 7B-shaped file takes minutes, not an hour.
 */
export function writeBenchCheckpoint(shape: BenchShape = QWEN_05B, dtype: 'F32' | 'BF16' = 'F32', dir = benchCheckpointDir(shape, dtype)): string {
  if (existsSync(path.join(dir, 'config.json'))) return dir;
  mkdirSync(dir, { recursive: true });
  const { hidden: d, intermediate: f, layers, heads, kvHeads, vocab } = shape;
  const hd = d / heads;
  const tensors: { name: string; shape: number[]; std: number; mean?: number }[] = [{ name: 'model.embed_tokens.weight', shape: [vocab, d], std: 0.02 }];
  for (let l = 0; l < layers; l++) {
    const p = `model.layers.${l}`;
    tensors.push(
      { name: `${p}.input_layernorm.weight`, shape: [d], std: 0.05, mean: 1 },
      { name: `${p}.post_attention_layernorm.weight`, shape: [d], std: 0.05, mean: 1 },
      { name: `${p}.self_attn.q_proj.weight`, shape: [heads * hd, d], std: 0.02 },
      { name: `${p}.self_attn.q_proj.bias`, shape: [heads * hd], std: 0.02 },
      { name: `${p}.self_attn.k_proj.weight`, shape: [kvHeads * hd, d], std: 0.02 },
      { name: `${p}.self_attn.k_proj.bias`, shape: [kvHeads * hd], std: 0.02 },
      { name: `${p}.self_attn.v_proj.weight`, shape: [kvHeads * hd, d], std: 0.02 },
      { name: `${p}.self_attn.v_proj.bias`, shape: [kvHeads * hd], std: 0.02 },
      { name: `${p}.self_attn.o_proj.weight`, shape: [d, heads * hd], std: 0.02 },
      { name: `${p}.mlp.gate_proj.weight`, shape: [f, d], std: 0.02 },
      { name: `${p}.mlp.up_proj.weight`, shape: [f, d], std: 0.02 },
      { name: `${p}.mlp.down_proj.weight`, shape: [d, f], std: 0.02 },
    );
  }
  tensors.push({ name: 'model.norm.weight', shape: [d], std: 0.05, mean: 1 });
  if (!shape.tied) tensors.push({ name: 'lm_head.weight', shape: [vocab, d], std: 0.02 });
  const bytesPer = dtype === 'F32' ? 4 : 2;
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const t of tensors) {
    const bytes = t.shape.reduce((a, b) => a * b, 1) * bytesPer;
    header[t.name] = { dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const file = path.join(dir, 'model.safetensors');
  const fd = openSync(`${file}`, 'w');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  writeSync(fd, len);
  writeSync(fd, json);
  const normal = seededNormal(2025);
  const pool = new Float32Array(1 << 22).map(() => normal());
  let state = 12345;
  const CHUNK = 1 << 20;
  for (const t of tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    for (let start = 0; start < n; start += CHUNK) {
      const count = Math.min(CHUNK, n - start);
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      const from = state % (pool.length - count);
      const data = new Float32Array(count);
      for (let i = 0; i < count; i++) data[i] = (t.mean ?? 0) + t.std * pool[from + i];
      if (dtype === 'F32') writeSync(fd, Buffer.from(data.buffer));
      else {
        // BF16 = the high half of the float32 bits, rounded to nearest even.
        const u32 = new Uint32Array(data.buffer);
        const out = new Uint16Array(count);
        for (let i = 0; i < count; i++) out[i] = (u32[i] + 0x7fff + ((u32[i] >>> 16) & 1)) >>> 16;
        writeSync(fd, Buffer.from(out.buffer));
      }
    }
  }
  closeSync(fd);
  writeFileSync(
    path.join(dir, 'config.json'),
    JSON.stringify({
      architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', hidden_size: d, intermediate_size: f, num_hidden_layers: layers,
      num_attention_heads: heads, num_key_value_heads: kvHeads, vocab_size: vocab, rms_norm_eps: 1e-6, rope_theta: 1000000,
      max_position_embeddings: 32768, tie_word_embeddings: shape.tied, hidden_act: 'silu', torch_dtype: dtype === 'F32' ? 'float32' : 'bfloat16', use_sliding_window: false,
      eos_token_id: 151645,
    }, null, 2),
  );
  const tok = tokenizerFiles('qwen3');
  copyFileSync(tok.tokenizer, path.join(dir, 'tokenizer.json'));
  copyFileSync(tok.config, path.join(dir, 'tokenizer_config.json'));
  return dir;
}
