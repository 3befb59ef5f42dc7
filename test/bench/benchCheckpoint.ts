/**
 * A random checkpoint shaped like Qwen2.5-0.5B (24 layers, d 896, 14/2 heads, intermediate 4864, vocab 151936,
 * tied embeddings), written tensor by tensor so the writer never holds the model in memory. Reused across runs.
 */
import { closeSync, existsSync, mkdirSync, openSync, writeFileSync, writeSync, copyFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { seededNormal, tokenizerFiles } from '../helpers/randomCheckpoint';

export const QWEN_05B = { hidden: 896, intermediate: 4864, layers: 24, heads: 14, kvHeads: 2, vocab: 151936 };

export function benchCheckpointDir(): string {
  return path.join(process.env.PERSONA_LENS_BENCH_DIR ?? path.join(os.tmpdir(), 'persona-lens-bench'), 'qwen2.5-0.5b-shaped');
}

export function writeBenchCheckpoint(dir = benchCheckpointDir()): string {
  if (existsSync(path.join(dir, 'config.json'))) return dir;
  mkdirSync(dir, { recursive: true });
  const { hidden: d, intermediate: f, layers, heads, kvHeads, vocab } = QWEN_05B;
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
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const t of tensors) {
    const bytes = t.shape.reduce((a, b) => a * b, 1) * 4;
    header[t.name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + bytes] };
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
  for (const t of tensors) {
    const data = new Float32Array(t.shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = (t.mean ?? 0) + t.std * normal();
    writeSync(fd, Buffer.from(data.buffer));
  }
  closeSync(fd);
  writeFileSync(
    path.join(dir, 'config.json'),
    JSON.stringify({
      architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', hidden_size: d, intermediate_size: f, num_hidden_layers: layers,
      num_attention_heads: heads, num_key_value_heads: kvHeads, vocab_size: vocab, rms_norm_eps: 1e-6, rope_theta: 1000000,
      max_position_embeddings: 32768, tie_word_embeddings: true, hidden_act: 'silu', torch_dtype: 'float32', use_sliding_window: false,
      eos_token_id: 151645,
    }, null, 2),
  );
  const tok = tokenizerFiles('qwen3');
  copyFileSync(tok.tokenizer, path.join(dir, 'tokenizer.json'));
  copyFileSync(tok.config, path.join(dir, 'tokenizer_config.json'));
  return dir;
}
