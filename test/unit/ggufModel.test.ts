/**
 * GGUF models (issue 16): the same random weights as an HF safetensors folder and as a GGUF file written the way
 * llama.cpp's converter writes it (q/k permutation for llama-arch, rope_freqs for Llama 3) give identical hidden
 * rows for llama, mistral, qwen2, qwen3, gemma2, gemma3 and phi3 (issue 17: gemma's 1 + w norms, phi3's fused
 * projections and longrope tensors) — prefill, KV-cache decode, plain and steered; quantized tensor types
 * stay close to F32 (cosines printed); tokenizer and chat template come from the GGUF metadata; Ollama's store
 * resolves; hostile files are refused naming the file.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeRandomCheckpoint, seededNormal, type RandomCheckpointOptions } from '../helpers/randomCheckpoint';
import { writeGgufModel, type GgufModelOptions } from '../helpers/ggufModelFile';
import { loadModel, type LoadedModel } from '../../src/core/model/loadedModel';
import { openModel } from '../../src/core/model/openModel';
import { buildRowIntervention } from '../../src/core/model/steering';
import { resolveOllamaModel, listOllamaModels } from '../../src/core/gguf/ollamaStore';
import type { GgmlTypeName } from '../../src/core/gguf/ggmlTypes';
import { cosine } from '../helpers/cosine';

const work = mkdtempSync(path.join(os.tmpdir(), 'persona-lens-gguf-model-'));
const cacheRoot = path.join(work, 'cache');
after(() => rmSync(work, { recursive: true, force: true }));

const TOKENS = [9707, 11, 1879, 0, 42, 7, 13, 2000, 31, 5];

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

function worstCosine(a: Float32Array, b: Float32Array, d: number): number {
  let worst = 1;
  for (let s = 0; s < a.length / d; s++) worst = Math.min(worst, cosine(a, b, s * d, (s + 1) * d));
  return worst;
}

/** Every hidden row and the logits of prefill, then of one decode step on the KV cache, optionally steered. */
async function trace(model: LoadedModel, steer?: { row: number; alpha: number; seed: number }) {
  const { hiddenSize: d, vocabSize } = model.checkpoint.spec;
  const rows = Array.from({ length: model.session.rows }, (_, r) => r);
  const tokens = TOKENS.map((t) => t % vocabSize);
  let intervention;
  if (steer) {
    const normal = seededNormal(steer.seed);
    const v = new Float32Array(d).map(() => normal());
    intervention = { add: [buildRowIntervention([{ vector: v, rows: [steer.row], coefficient: steer.alpha }], model.session.rows, d).add] };
  }
  const prefill = await model.session.forward({ tokens: [tokens.slice(0, 7)], captureRows: rows, logits: 'all', intervention });
  const decode = await model.session.forward({ tokens: [tokens.slice(7, 8)], past: prefill.cache, captureRows: rows, logits: 'all', intervention });
  return { rows, prefill, decode };
}

const ARCHITECTURES: [string, RandomCheckpointOptions][] = [
  ['llama (Llama 3 rope, attention bias, GQA)', { architecture: 'llama', llama3Rope: true, attentionBias: true, kvHeads: 2 }],
  ['mistral', { architecture: 'mistral', slidingWindow: null }],
  ['qwen2 (tied)', { architecture: 'qwen2', tied: true }],
  ['qwen3 (BF16 source, head_dim 16)', { architecture: 'qwen3', headDim: 16, dtype: 'BF16' }],
  // Gemma GGUFs carry no query_pre_attn_scalar: llama.cpp's rule gives head_dim^-0.5 below 27B, so the checkpoints use that.
  ['gemma2 (norms stored as 1 + w, soft-caps 50/30, window 4 on alternating layers, tied)', { architecture: 'gemma2', queryPreAttnScalar: 16, tied: true, slidingWindow: 4 }],
  ['gemma2 BF16 source', { architecture: 'gemma2', queryPreAttnScalar: 16, tied: true, slidingWindow: 4, dtype: 'BF16' }],
  ['gemma3 (q/k norms, 5 sliding : 1 full, local/global RoPE, linear ×8, untied)', { architecture: 'gemma3', layers: 6, queryPreAttnScalar: 16, slidingWindowPattern: 6, linearRope: 8, slidingWindow: 4, tied: false }],
  ['phi3 (fused attn_qkv / ffn_up, window 4, MHA, longrope short regime)', { architecture: 'phi3', kvHeads: 4, slidingWindow: 4, longrope: { original: 32, max: 256 } }],
  ['phi3 Phi-4-mini style (partial rotary 0.75, longrope long regime, GQA, tied)', { architecture: 'phi3', kvHeads: 2, tied: true, partialRotary: 0.75, longrope: { original: 6, max: 48 } }],
];

/** Values the GGUF stores as float32: equal to float32 precision. */
function assertCloseValues(got: unknown, want: unknown, what: string): void {
  if (typeof want === 'number' && typeof got === 'number') {
    assert.ok(Math.abs(got - want) <= 1e-6 * Math.max(1, Math.abs(want)), `${what}: ${got} vs ${want}`);
  } else if (Array.isArray(want) && Array.isArray(got)) {
    assert.equal(got.length, want.length, `${what}: length`);
    want.forEach((w, i) => assertCloseValues(got[i], w, `${what}[${i}]`));
  } else if (want && typeof want === 'object' && got && typeof got === 'object') {
    assert.deepEqual(Object.keys(got).sort(), Object.keys(want).sort(), `${what}: keys`);
    for (const k of Object.keys(want)) assertCloseValues((got as Record<string, unknown>)[k], (want as Record<string, unknown>)[k], `${what}.${k}`);
  } else {
    assert.deepEqual(got, want, what);
  }
}

describe('GGUF F32 file ≡ safetensors folder: identical hidden rows (llama.cpp converter layout)', function () {
  this.timeout(300000);
  for (const [name, options] of ARCHITECTURES) {
    describe(name, () => {
      let dir: string;
      let gguf: string;
      let folderModel: LoadedModel;
      let ggufModel: LoadedModel;
      before(async () => {
        dir = writeRandomCheckpoint({ layers: 3, hidden: 64, intermediate: 128, seed: 5, ...options }).dir;
        gguf = writeGgufModel(dir, path.join(work, `${options.architecture}.gguf`));
        folderModel = await loadModel(dir, { cacheRoot, weights: 'f32', threads: 1 });
        ggufModel = await loadModel(gguf, { cacheRoot, weights: 'f32', threads: 1 });
      });
      after(async () => {
        await folderModel.session.release();
        await ggufModel.session.release();
        rmSync(dir, { recursive: true, force: true });
      });

      it('reads the same spec from the metadata as from config.json', () => {
        const a = { ...folderModel.checkpoint.spec };
        const b = { ...ggufModel.checkpoint.spec };
        assert.equal(b.architecture, options.architecture === 'mistral' ? 'llama' : options.architecture, 'Mistral files are llama-arch');
        for (const key of ['hiddenSize', 'intermediateSize', 'numLayers', 'numHeads', 'numKvHeads', 'headDim', 'vocabSize', 'qkvBias', 'oBias', 'mlpBias', 'qkNorm', 'tieWordEmbeddings', 'maxPositions',
          'slidingWindow', 'slidingLayers', 'rotaryDim', 'fusedProjections', 'sandwichNorms', 'activation'] as const) {
          assert.deepEqual(b[key], a[key], key);
        }
        for (const key of ['rmsNormEps', 'localRope', 'embeddingScale', 'attentionScale', 'attnSoftcap', 'finalSoftcap'] as const) assertCloseValues(b[key], a[key], `${key} (stored as f32)`);
        // Llama 3 scaling becomes per-frequency factors in the file (compared through the hidden rows below).
        if (a.rope.llama3) assert.ok(b.rope.frequencyFactors && Math.abs(b.rope.theta - a.rope.theta) <= 1e-6 * a.rope.theta, 'rope_freqs');
        else assertCloseValues(b.rope, a.rope, 'rope (stored as f32)');
        // The converter stores gemma norms as 1 + w, so the GGUF spec reads them plainly.
        assert.equal(b.normPlusOne, undefined);
        assert.equal(a.normPlusOne, options.architecture.startsWith('gemma') ? true : undefined);
        assert.equal(ggufModel.checkpoint.format, 'gguf');
        assert.notEqual(ggufModel.checkpoint.fingerprint, folderModel.checkpoint.fingerprint);
      });

      for (const steer of [undefined, { row: 2, alpha: 4, seed: 3 }]) {
        it(`${steer ? 'steered at row 2' : 'plain'}: every row and the logits ≤ 1e-5, prefill and KV-cache decode`, async () => {
          const a = await trace(folderModel, steer);
          const b = await trace(ggufModel, steer);
          let worst = 0;
          for (const step of ['prefill', 'decode'] as const) {
            for (const r of a.rows) worst = Math.max(worst, maxAbsDiff(a[step].hidden.get(r)!, b[step].hidden.get(r)!));
            worst = Math.max(worst, maxAbsDiff(a[step].logits!, b[step].logits!));
          }
          console.log(`      worst |Δ| ${worst.toExponential(2)}`);
          assert.ok(worst <= 1e-5, `max |Δ| ${worst}`);
        });
      }

      it('tokenizes and applies the chat template from the GGUF metadata exactly as the HF tokenizer', () => {
        const messages = [{ role: 'system' as const, content: 'You are terse.' }, { role: 'user' as const, content: 'Hello, wörld! 1234 <|im_start|>  x\n\ty' }];
        assert.deepEqual(ggufModel.tokenizer.chat(messages), folderModel.tokenizer.chat(messages));
        // This Llama 3 tokenizer.json predates Meta's BOS post-processor, so the converter writes no add_bos_token and
        // llama.cpp adds BOS for pre "llama-bpe" by default; the GGUF tokenizer follows llama.cpp.
        // Every checkpoint but the qwen ones carries that Llama 3 tokenizer (randomCheckpoint's default).
        const bos = options.architecture.startsWith('qwen') ? [] : [128000];
        for (const text of ['Hello world', '  leading spaces', 'emoji 🙂 and 中文', 'x'.repeat(50)]) {
          assert.deepEqual(ggufModel.tokenizer.encode(text), [...bos, ...folderModel.tokenizer.encode(text)], text);
          assert.deepEqual(ggufModel.tokenizer.encode(text, false), folderModel.tokenizer.encode(text, false), text);
          assert.equal(ggufModel.tokenizer.decode(ggufModel.tokenizer.encode(text, false)), text);
        }
        // The converter writes the tokenizer's EOS (tokenizer_config.json), which this config.json leaves out.
        const eos = JSON.parse(readFileSync(path.join(dir, 'tokenizer_config.json'), 'utf8')).eos_token;
        assert.ok(ggufModel.eosTokenIds.includes(ggufModel.tokenizer.encode(typeof eos === 'string' ? eos : eos.content, false)[0]), `EOS ids ${ggufModel.eosTokenIds} include the tokenizer's ${JSON.stringify(eos)}`);
      });
    });
  }
});

describe('quantized GGUF tensor types vs the F32 file (worst hidden-row cosine printed)', function () {
  this.timeout(600000);
  let dir: string;
  let reference: LoadedModel;
  const files = new Map<string, string>();
  before(async () => {
    // K-quants need rows of 256 values: hidden 256, intermediate 512.
    dir = writeRandomCheckpoint({ architecture: 'llama', layers: 2, hidden: 256, intermediate: 512, heads: 4, kvHeads: 2, seed: 9 }).dir;
    files.set('F32', writeGgufModel(dir, path.join(work, 'q-F32.gguf')));
    reference = await loadModel(files.get('F32')!, { cacheRoot, weights: 'f32', threads: 1 });
  });
  after(async () => {
    await reference.session.release();
    rmSync(dir, { recursive: true, force: true });
  });

  async function worstRow(file: string, weights: 'f32' | 'int8' | 'int4'): Promise<{ rows: number[]; logits: number }> {
    const model = await loadModel(file, { cacheRoot, weights, threads: 1 });
    try {
      const { hiddenSize: d, vocabSize } = reference.checkpoint.spec;
      const rows = Array.from({ length: reference.session.rows }, (_, r) => r);
      const tokens = [TOKENS.map((t) => t % vocabSize)];
      const a = await reference.session.forward({ tokens, captureRows: rows, logits: 'all' });
      const b = await model.session.forward({ tokens, captureRows: rows, logits: 'all' });
      return { rows: rows.map((r) => worstCosine(a.hidden.get(r)!, b.hidden.get(r)!, d)), logits: worstCosine(a.logits!, b.logits!, vocabSize) };
    } finally {
      await model.session.release();
    }
  }

  const TYPES: [GgmlTypeName, number][] = [['Q8_0', 0.999], ['F16', 0.9999], ['BF16', 0.999], ['Q6_K', 0.99], ['Q5_K', 0.98], ['Q4_K', 0.95], ['Q5_0', 0.97], ['Q5_1', 0.97], ['Q4_0', 0.93], ['Q4_1', 0.94]];
  for (const [type, floor] of TYPES) {
    it(`${type}: decoded to float32, every row within cosine ${floor} of F32; requantized at int8 / int4 (printed)`, async () => {
      const file = writeGgufModel(dir, path.join(work, `q-${type}.gguf`), { type, typeOf: (name: string) => (name === 'token_embd.weight' && type.endsWith('_K') ? 'Q8_0' : undefined) } as GgufModelOptions);
      const lines: string[] = [];
      for (const weights of ['f32', 'int8', 'int4'] as const) {
        const result = await worstRow(file, weights);
        lines.push(`${weights}: rows ${result.rows.map((c) => c.toFixed(4)).join(' ')}, logits ${result.logits.toFixed(4)}`);
        if (weights === 'f32') result.rows.forEach((c, r) => assert.ok(c >= floor, `${type} row ${r}: cosine ${c}`));
      }
      console.log(`      ${type} vs F32 file — ${lines.join('; ')}`);
    });
  }

  it('Q8_0 at int8 and Q4_0 at int4 are copied exactly into MatMulNBits blocks (no second rounding)', async () => {
    for (const [type, weights] of [['Q8_0', 'int8'], ['Q4_0', 'int4']] as const) {
      const file = files.get(type) ?? writeGgufModel(dir, path.join(work, `exact-${type}.gguf`), { type });
      const exact = await worstRow(file, weights);
      const decoded = await worstRow(file, 'f32');
      // The exact copy differs from the decoded file only by onnxruntime's int8 activation rounding (accuracy 4).
      exact.rows.forEach((c, r) => assert.ok(c >= Math.min(0.999, decoded.rows[r]) - 0.02, `${type} at ${weights} row ${r}: ${c} vs decoded ${decoded.rows[r]}`));
      console.log(`      ${type} copied at ${weights}: rows ${exact.rows.map((c) => c.toFixed(4)).join(' ')} (decoded at f32: ${decoded.rows.map((c) => c.toFixed(4)).join(' ')})`);
    }
  });
});

describe('Ollama store', function () {
  this.timeout(120000);
  let root: string;
  let dir: string;
  let blob: string;
  before(() => {
    dir = writeRandomCheckpoint({ architecture: 'qwen2', layers: 1, hidden: 32, intermediate: 64, seed: 2, tied: true }).dir;
    root = path.join(work, 'ollama-models');
    const file = writeGgufModel(dir, path.join(work, 'for-ollama.gguf'));
    const bytes = readFileSync(file);
    const digest = createHash('sha256').update(bytes).digest('hex');
    // Laid out as `ollama pull` leaves it: manifests/<host>/<namespace>/<model>/<tag>, blobs/sha256-<hex>.
    mkdirSync(path.join(root, 'blobs'), { recursive: true });
    blob = path.join(root, 'blobs', `sha256-${digest}`);
    writeFileSync(blob, bytes);
    const template = Buffer.from('{{ .Prompt }}');
    const templateDigest = createHash('sha256').update(template).digest('hex');
    writeFileSync(path.join(root, 'blobs', `sha256-${templateDigest}`), template);
    const manifest = {
      schemaVersion: 2,
      mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: `sha256:${'0'.repeat(64)}`, size: 2 },
      layers: [
        { mediaType: 'application/vnd.ollama.image.model', digest: `sha256:${digest}`, size: bytes.length },
        { mediaType: 'application/vnd.ollama.image.template', digest: `sha256:${templateDigest}`, size: template.length },
      ],
    };
    for (const [ns, model, tag] of [['library', 'tiny', 'latest'], ['library', 'tiny', 'q8'], ['someone', 'custom', 'v1']]) {
      mkdirSync(path.join(root, 'manifests', 'registry.ollama.ai', ns, model), { recursive: true });
      writeFileSync(path.join(root, 'manifests', 'registry.ollama.ai', ns, model, tag), JSON.stringify(manifest));
    }
    mkdirSync(path.join(root, 'manifests', 'registry.ollama.ai', 'library', 'broken'), { recursive: true });
    writeFileSync(path.join(root, 'manifests', 'registry.ollama.ai', 'library', 'broken', 'latest'), JSON.stringify({ layers: [{ mediaType: 'application/vnd.ollama.image.model', digest: `sha256:${'a'.repeat(64)}`, size: 1 }] }));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('resolves ollama:NAME, NAME:TAG and NAMESPACE/NAME:TAG to the model blob, and lists the local models', () => {
    assert.equal(resolveOllamaModel('ollama:tiny', root).file, blob);
    assert.equal(resolveOllamaModel('ollama:tiny:q8', root).name, 'tiny:q8');
    assert.equal(resolveOllamaModel('ollama:someone/custom:v1', root).file, blob);
    assert.deepEqual(listOllamaModels(root).map((m) => m.name), ['someone/custom:v1', 'tiny:latest', 'tiny:q8'], 'a manifest whose blob is missing is not offered');
  });

  it('a missing model gets a message listing the local ones; a missing blob says to pull again; names cannot leave the store', () => {
    assert.throws(() => resolveOllamaModel('ollama:llama3.2:1b', root), /Ollama model llama3\.2:1b is not in .*Local models: someone\/custom:v1, tiny:latest, tiny:q8\. Pull it with: ollama pull llama3\.2:1b/);
    assert.throws(() => resolveOllamaModel('ollama:broken', root), /its model blob .* is missing \(interrupted pull\?\); run: ollama pull broken:latest/);
    assert.throws(() => resolveOllamaModel('ollama:../../etc/passwd', root), /is not an Ollama model name/);
    assert.throws(() => resolveOllamaModel('ollama:tiny', path.join(work, 'nowhere')), /there is no Ollama store at .*OLLAMA_MODELS/);
  });

  it('loads ollama:NAME through $OLLAMA_MODELS and never writes into the store', async () => {
    const before = statSync(blob).mtimeMs;
    const saved = process.env.OLLAMA_MODELS;
    process.env.OLLAMA_MODELS = root;
    try {
      const model = await loadModel('ollama:tiny', { cacheRoot, threads: 1 });
      assert.equal(model.checkpoint.displayName, 'ollama:tiny:latest');
      const out = await model.session.forward({ tokens: [[1, 2, 3]], logits: 'last' });
      assert.ok(out.logits!.every(Number.isFinite));
      await model.session.release();
      const opened = await openModel(blob);
      assert.equal(opened.format, 'gguf', 'a blob without the .gguf extension opens by its magic');
    } finally {
      if (saved === undefined) delete process.env.OLLAMA_MODELS;
      else process.env.OLLAMA_MODELS = saved;
    }
    assert.equal(statSync(blob).mtimeMs, before);
  });
});

describe('hostile GGUF model files are refused, naming the file and what is supported', function () {
  this.timeout(120000);
  let dir: string;
  before(() => {
    dir = writeRandomCheckpoint({ architecture: 'qwen2', layers: 1, hidden: 32, intermediate: 64, seed: 4, tied: true }).dir;
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const cases: [string, GgufModelOptions, RegExp][] = [
    ['unknown architecture', { metadata: [['general.architecture', { type: 'string', value: 'mamba' }]] }, /architecture "mamba" is not supported; supported GGUF architectures: llama, qwen2, qwen3, gemma2, gemma3, phi3 \(Mistral files are "llama"\)/],
    ['mixture of experts', { metadata: [['qwen2.expert_count', { type: 'u32', value: 8 }]] }, /mixture-of-experts/],
    ['a per-layer feed_forward_length', { metadata: [['qwen2.feed_forward_length', { type: 'array', elementType: 'u32', items: [{ type: 'u32', value: 64 }] }]] }, /differs per layer/],
    ['hidden size that does not match the tensors', { metadata: [['qwen2.embedding_length', { type: 'u32', value: 48 }]] }, /token_embd\.weight has dims \[32,\d+\], expected \[48, vocab\]/],
    ['more blocks than tensors', { metadata: [['qwen2.block_count', { type: 'u32', value: 2 }]] }, /weight "model\.layers\.1\.input_layernorm\.weight" is missing \(does the GGUF metadata match/],
    ['fewer blocks than tensors', { metadata: [['qwen2.block_count', { type: 'u32', value: 0 }]] }, /block_count" must be a positive integer/],
    ['rope scaling it cannot reproduce', { metadata: [['qwen2.rope.scaling.type', { type: 'string', value: 'yarn' }]] }, /rope\.scaling\.type "yarn" is not supported/],
    ['linear rope scaling outside gemma3', { metadata: [['qwen2.rope.scaling.type', { type: 'string', value: 'linear' }], ['qwen2.rope.scaling.factor', { type: 'f32', value: 4 }]] }, /linear \(factor 4\) is supported only for gemma3/],
    ['an Ollama-native Gemma 3 file', { metadata: [['general.architecture', { type: 'string', value: 'gemma3' }], ['gemma3.text.feed_forward_length', { type: 'u32', value: 64 }]] }, /Ollama-native Gemma 3 file .* use a GGUF made by llama\.cpp's convert_hf_to_gguf\.py/],
    ['partial rotary outside phi3', { metadata: [['qwen2.rope.dimension_count', { type: 'u32', value: 4 }]] }, /rope\.dimension_count is 4, not the head dimension 8: partial rotary embeddings are supported only for phi3/],
    ['split files', { metadata: [['split.count', { type: 'u16', value: 3 }]] }, /split GGUF \(3 files\).*llama-gguf-split --merge/],
    ['no tokenizer', { metadata: [['tokenizer.ggml.tokens', undefined]] }, /tokenizer\.ggml\.tokens/],
  ];
  for (const [what, options, message] of cases) {
    it(what, async () => {
      const file = writeGgufModel(dir, path.join(work, `hostile-${what.replace(/\W+/g, '-')}.gguf`), options);
      await assert.rejects(loadModel(file, { cacheRoot, threads: 1 }), (err: Error) => {
        assert.ok(err.message.includes(file), `names the file: ${err.message}`);
        assert.match(err.message, message);
        return true;
      });
    });
  }

  it('a truncated download, a tensor of another variant, a tensor of the wrong shape', async () => {
    const good = readFileSync(writeGgufModel(dir, path.join(work, 'good.gguf')));
    const cut = path.join(work, 'cut.gguf');
    writeFileSync(cut, good.subarray(0, good.length - 100));
    await assert.rejects(openModel(cut), /cut\.gguf: tensor ".*" data \(bytes \d+–\d+\) runs past the end of the file \(\d+ bytes\): truncated download\?/);
    const extra = writeGgufModel(dir, path.join(work, 'extra.gguf'), { extraTensors: [{ name: 'blk.0.attn_sinks.weight', dims: [4], data: new Float32Array(4) }] });
    await assert.rejects(openModel(extra), /extra\.gguf: holds tensors Persona Lens does not know for "qwen2" \(blk\.0\.attn_sinks\.weight\)/);
    const shape = writeGgufModel(dir, path.join(work, 'shape.gguf'), { metadata: [['qwen2.feed_forward_length', { type: 'u32', value: 96 }]] });
    await assert.rejects(openModel(shape), /shape\.gguf: weight "model\.layers\.0\.mlp\.gate_proj\.weight" has shape \[64,32\] but the GGUF metadata implies \[96,32\]/);
  });
});
