import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, truncateSync, statSync, unlinkSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openCheckpoint, assertMemoryAvailable, estimateMemory, CheckpointError } from '../../src/core/model/checkpoint';
import { readSafetensorsHeader, SafetensorsError } from '../../src/core/model/safetensors';
import { parseModelConfig, ConfigError } from '../../src/core/model/config';
import { writeRandomCheckpoint } from '../helpers/randomCheckpoint';

const small = { hidden: 16, heads: 2, kvHeads: 1, vocab: 100, layers: 1 };

describe('checkpoint validation: bad input gets a clear message naming the file', () => {
  const dirs: string[] = [];
  const fresh = (o: Parameters<typeof writeRandomCheckpoint>[0]) => {
    const rc = writeRandomCheckpoint(o);
    dirs.push(rc.dir);
    return rc.dir;
  };
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('accepts a good checkpoint', () => {
    const ckpt = openCheckpoint(fresh({ architecture: 'qwen2', ...small }));
    assert.equal(ckpt.spec.architecture, 'qwen2');
    assert.equal(ckpt.spec.numLayers, 1);
  });

  it('refuses an unsupported architecture and lists the supported ones', () => {
    const dir = fresh({ architecture: 'llama', ...small });
    const cfg = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8'));
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...cfg, model_type: 'gpt2' }));
    assert.throws(() => openCheckpoint(dir), /model_type "gpt2" is not supported\. Supported architectures: llama, mistral, qwen2, qwen3/);
  });

  it('refuses pickle-only folders without reading them', () => {
    const dir = fresh({ architecture: 'llama', ...small });
    unlinkSync(path.join(dir, 'model.safetensors'));
    writeFileSync(path.join(dir, 'pytorch_model.bin'), Buffer.from('cos\nsystem\n(S"echo pwned"\ntR.'));
    assert.throws(() => openCheckpoint(dir), (err: Error) => err instanceof CheckpointError && /never unpickles/.test(err.message) && err.message.includes('pytorch_model.bin'));
  });

  it('names a truncated weights file', () => {
    const dir = fresh({ architecture: 'qwen2', ...small });
    const file = path.join(dir, 'model.safetensors');
    truncateSync(file, statSync(file).size - 100);
    assert.throws(() => openCheckpoint(dir), (err: Error) => err instanceof SafetensorsError && err.message.startsWith(file) && /file holds only .* data bytes \(truncated or corrupt\)/.test(err.message));
  });

  it('rejects an absurd header size and a header running past the end', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'persona-lens-bad-'));
    dirs.push(dir);
    const absurd = path.join(dir, 'absurd.safetensors');
    const b = Buffer.alloc(16);
    b.writeBigUInt64LE(1n << 50n);
    writeFileSync(absurd, b);
    assert.throws(() => readSafetensorsHeader(absurd), /absurd/);
    const past = path.join(dir, 'past.safetensors');
    const c = Buffer.alloc(16);
    c.writeBigUInt64LE(1000n);
    writeFileSync(past, c);
    assert.throws(() => readSafetensorsHeader(past), /runs past the end/);
    const tiny = path.join(dir, 'tiny.safetensors');
    writeFileSync(tiny, Buffer.from([1, 2, 3]));
    assert.throws(() => readSafetensorsHeader(tiny), /too short/);
  });

  it('rejects offsets past the end, wrong byte counts and non-JSON headers', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'persona-lens-bad-'));
    dirs.push(dir);
    const write = (name: string, header: string, dataBytes: number) => {
      const json = Buffer.from(header);
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(BigInt(json.length));
      const file = path.join(dir, name);
      writeFileSync(file, Buffer.concat([len, json, Buffer.alloc(dataBytes)]));
      return file;
    };
    assert.throws(() => readSafetensorsHeader(write('a.safetensors', JSON.stringify({ w: { dtype: 'F32', shape: [4], data_offsets: [0, 1 << 30] } }), 16)), /data ends at byte 1073741824/);
    assert.throws(() => readSafetensorsHeader(write('b.safetensors', JSON.stringify({ w: { dtype: 'F32', shape: [4], data_offsets: [0, 8] } }), 16)), /holds 8 bytes but F32\[4\] needs 16/);
    assert.throws(() => readSafetensorsHeader(write('c.safetensors', '{not json', 0)), /not valid JSON/);
    assert.throws(() => readSafetensorsHeader(write('d.safetensors', JSON.stringify({ w: { dtype: 'Q4', shape: [4], data_offsets: [0, 2] } }), 16)), /unsupported dtype "Q4"/);
  });

  it('names a shard that the index lists but the folder lacks, and refuses path tricks in shard names', () => {
    const dir = fresh({ architecture: 'qwen3', ...small, headDim: 8, shards: 2 });
    unlinkSync(path.join(dir, 'model-00002-of-00002.safetensors'));
    assert.throws(() => openCheckpoint(dir), /names shard model-00002-of-00002\.safetensors, which is missing/);
    writeFileSync(path.join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { x: '../../etc/passwd.safetensors' } }));
    assert.throws(() => openCheckpoint(dir), /is not a plain \*\.safetensors file name/);
  });

  it('names a weight whose shape disagrees with config.json', () => {
    const dir = fresh({ architecture: 'mistral', ...small });
    const cfg = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8'));
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...cfg, intermediate_size: 99 }));
    assert.throws(() => openCheckpoint(dir), /weight "model\.layers\.0\.mlp\.gate_proj\.weight" has shape \[64,16\] but config\.json implies \[99,16\]/);
  });

  it('estimates memory before loading and refuses when it does not fit', () => {
    const ckpt = openCheckpoint(fresh({ architecture: 'qwen2', ...small }));
    const seventy = { ...ckpt.spec, numLayers: 80, hiddenSize: 8192, intermediateSize: 28672, vocabSize: 128256 };
    assert.throws(() => assertMemoryAvailable('/models/x', seventy, 'f32', 24 * 1024 ** 3), /needs about \d+\.\d GiB as f32, but only 24\.0 GiB is available\. Close other programs/);
    assert.ok(assertMemoryAvailable('/models/x', ckpt.spec, 'f32', 24 * 1024 ** 3).requiredBytes > 0);
    // A 7B shape does not fit as f32 on 24 GB; the refusal names the precision that does.
    const seven = { ...ckpt.spec, numLayers: 28, hiddenSize: 3584, intermediateSize: 18944, numHeads: 28, numKvHeads: 4, headDim: 128, vocabSize: 152064, tieWordEmbeddings: false };
    assert.throws(() => assertMemoryAvailable('/models/7b', seven, 'f32', 22.9 * 1024 ** 3), /as f32, but only 22\.9 GiB is available\. Load it with --weights int8 .*needs about \d+\.\d GiB/);
    assert.ok(estimateMemory(seven, 'int4').requiredBytes < estimateMemory(seven, 'int8').requiredBytes);
    assert.ok(estimateMemory(seven, 'int8').requiredBytes < estimateMemory(seven, 'f32').requiredBytes / 1.8);
  });

  it('config parsing: HF defaults and refusals', () => {
    const base = { hidden_size: 64, num_attention_heads: 4, num_hidden_layers: 2, intermediate_size: 128, vocab_size: 10 };
    assert.equal(parseModelConfig({ ...base, model_type: 'mistral', num_key_value_heads: 2 }).slidingWindow, 4096, 'mistral without the key gets a 4096 window');
    assert.equal(parseModelConfig({ ...base, model_type: 'mistral', num_key_value_heads: 2, sliding_window: null }).slidingWindow, undefined);
    assert.equal(parseModelConfig({ ...base, model_type: 'qwen3', num_key_value_heads: 2 }).headDim, 128, 'qwen3 head_dim defaults to 128');
    assert.equal(parseModelConfig({ ...base, model_type: 'qwen2', num_key_value_heads: 2, attention_bias: false }).qkvBias, true, 'qwen2 always has q/k/v bias');
    assert.equal(parseModelConfig({ ...base, model_type: 'llama' }).numKvHeads, 4);
    assert.throws(() => parseModelConfig({ ...base, model_type: 'llama', rope_scaling: { rope_type: 'yarn', factor: 4 } }), ConfigError);
    assert.throws(() => parseModelConfig({ ...base, model_type: 'qwen2', num_key_value_heads: 2, use_sliding_window: true }), /sliding-window attention on Qwen layers/);
    assert.throws(() => parseModelConfig({ ...base, model_type: 'llama', hidden_act: 'gelu' }), /hidden_act "gelu"/);
    assert.throws(() => parseModelConfig({ ...base, model_type: 'llama', num_key_value_heads: 3 }), /multiple of num_key_value_heads/);
  });
});
