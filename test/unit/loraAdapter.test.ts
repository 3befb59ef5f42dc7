/**
 * LoRA adapters merged at load: the model with a PEFT adapter must compute exactly what the independent reference
 * forward computes on W + s·B·A; anything we cannot merge is refused with a message naming the file.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeRandomCheckpoint, seededNormal, type RandomCheckpoint } from '../helpers/randomCheckpoint';
import { referenceForward } from '../reference/referenceForward';
import { loadModel } from '../../src/core/model/loadedModel';
import { cosine } from '../helpers/cosine';
import { openLoraAdapter } from '../../src/core/model/loraAdapter';
import { openCheckpoint } from '../../src/core/model/checkpoint';
import { writeSafetensors, type TensorToWrite } from '../../src/core/model/safetensors';

const TOKENS = [9707, 11, 1879, 0, 42, 7, 13, 2000];
const R = 4;

interface AdapterSpec {
  modules: { name: string; out: number; in: number }[];
  config?: Record<string, unknown>;
  extra?: TensorToWrite[];
  seed?: number;
}

/** Writes a PEFT-layout adapter; returns the float64 A and B per module for the reference merge. */
function writeAdapter(dir: string, spec: AdapterSpec): Map<string, { a: Float64Array; b: Float64Array }> {
  mkdirSync(dir, { recursive: true });
  const normal = seededNormal(spec.seed ?? 5);
  const values = new Map<string, { a: Float64Array; b: Float64Array }>();
  const tensors: TensorToWrite[] = [];
  for (const m of spec.modules) {
    const a = Float32Array.from({ length: R * m.in }, () => 0.3 * normal());
    const b = Float32Array.from({ length: m.out * R }, () => 0.3 * normal());
    values.set(m.name, { a: Float64Array.from(a), b: Float64Array.from(b) });
    tensors.push({ name: `base_model.model.${m.name}.lora_A.weight`, dtype: 'F32', shape: [R, m.in], data: a });
    tensors.push({ name: `base_model.model.${m.name}.lora_B.weight`, dtype: 'F32', shape: [m.out, R], data: b });
  }
  writeSafetensors(path.join(dir, 'adapter_model.safetensors'), [...tensors, ...(spec.extra ?? [])]);
  writeFileSync(path.join(dir, 'adapter_config.json'), JSON.stringify({ peft_type: 'LORA', r: R, lora_alpha: 8, target_modules: spec.modules.map((m) => m.name.split('.').pop()), ...spec.config }));
  return values;
}

function mergeReference(rc: RandomCheckpoint, deltas: Map<string, { a: Float64Array; b: Float64Array }>, scale: number) {
  const merged = new Map(rc.weights);
  for (const [module, { a, b }] of deltas) {
    const w = Float64Array.from(merged.get(`${module}.weight`)!);
    const inDim = a.length / R;
    const out = b.length / R;
    for (let o = 0; o < out; o++) for (let i = 0; i < inDim; i++) {
      let s = 0;
      for (let k = 0; k < R; k++) s += b[o * R + k] * a[k * inDim + i];
      w[o * inDim + i] += scale * s;
    }
    merged.set(`${module}.weight`, w);
  }
  return merged;
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

describe('LoRA adapters (PEFT) merged at load', function () {
  this.timeout(120000);
  const temp = mkdtempSync(path.join(os.tmpdir(), 'persona-lens-lora-'));
  const cacheRoot = path.join(temp, 'cache');
  let rc: RandomCheckpoint;
  const modules = [
    { name: 'model.layers.0.self_attn.q_proj', out: 32, in: 32 },
    { name: 'model.layers.1.self_attn.v_proj', out: 16, in: 32 },
    { name: 'model.layers.1.mlp.down_proj', out: 32, in: 64 },
  ];
  before(() => {
    rc = writeRandomCheckpoint({ architecture: 'qwen2', dir: path.join(temp, 'base') });
  });
  after(() => rmSync(temp, { recursive: true, force: true }));

  for (const [label, config, scale] of [
    ['lora_alpha / r', {}, 8 / R],
    ['rsLoRA: lora_alpha / √r', { use_rslora: true }, 8 / Math.sqrt(R)],
  ] as const) {
    it(`every hidden row matches the reference forward on W + s·B·A (${label})`, async () => {
      const dir = path.join(temp, `adapter-${label.length}`);
      const deltas = writeAdapter(dir, { modules, config });
      const model = await loadModel(rc.dir, { cacheRoot, adapter: dir, threads: 1 });
      try {
        const tokens = TOKENS.map((t) => t % rc.ref.vocab);
        const out = await model.session.forward({ tokens: [tokens], captureRows: [0, 1, 2], logits: 'all' });
        const merged = referenceForward(rc.ref, mergeReference(rc, deltas, scale), tokens);
        const plain = referenceForward(rc.ref, rc.weights, tokens);
        for (const r of [1, 2]) {
          assert.ok(maxAbsDiff(out.hidden.get(r)!, merged.hidden[r]) <= 1e-4, `row ${r}: ${maxAbsDiff(out.hidden.get(r)!, merged.hidden[r])}`);
          assert.ok(maxAbsDiff(plain.hidden[r], merged.hidden[r]) > 1e-2, 'the adapter changes the model');
        }
        assert.ok(maxAbsDiff(out.logits!, merged.logits) <= 1e-4);
        assert.match(model.checkpoint.fingerprint, /-lora-/, 'base + adapter is its own model for every cache');
      } finally {
        await model.session.release();
      }
    });
  }

  it('at int8 the adapter is merged before quantization: far closer to the f32 merge than the adapter moves the model', async () => {
    const dir = path.join(temp, 'adapter-int8');
    writeAdapter(dir, { modules, config: {} });
    const tokens = TOKENS.map((t) => t % rc.ref.vocab);
    const run = async (weights: 'f32' | 'int8', withAdapter = true) => {
      const adapter = withAdapter ? dir : undefined;
      const model = await loadModel(rc.dir, { cacheRoot, adapter, threads: 1, weights });
      try {
        return { fingerprint: model.checkpoint.fingerprint, hidden: (await model.session.forward({ tokens: [tokens], captureRows: [2], logits: 'none' })).hidden.get(2)! };
      } finally {
        await model.session.release();
      }
    };
    const [f32, int8, base] = [await run('f32'), await run('int8'), await run('f32', false)];
    assert.match(int8.fingerprint, /-lora-.*-int8-q\d+$/);
    const d = rc.ref.hidden;
    for (let s = 0; s < tokens.length; s++) assert.ok(cosine(f32.hidden, int8.hidden, s * d, (s + 1) * d) >= 0.998, `position ${s}`);
    // The int8 model carries the adapter: its distance to the f32 merge is a fraction of the adapter's own effect.
    const quantization = maxAbsDiff(int8.hidden, f32.hidden);
    const adapterEffect = maxAbsDiff(f32.hidden, base.hidden);
    console.log(`      int8 vs f32 merge ${quantization.toFixed(4)}; the adapter's effect ${adapterEffect.toFixed(4)} (max abs, row 2)`);
    assert.ok(quantization < adapterEffect / 3, `quantization ${quantization} vs adapter ${adapterEffect}`);
  });

  it('the base model in the same cache is untouched by the adapter', async () => {
    const model = await loadModel(rc.dir, { cacheRoot, threads: 1 });
    try {
      const tokens = TOKENS.map((t) => t % rc.ref.vocab);
      const out = await model.session.forward({ tokens: [tokens], captureRows: [2], logits: 'none' });
      assert.ok(maxAbsDiff(out.hidden.get(2)!, referenceForward(rc.ref, rc.weights, tokens).hidden[2]) <= 1e-4);
    } finally {
      await model.session.release();
    }
  });

  it('a full tensor in the adapter (modules_to_save, bias) replaces the base tensor', () => {
    const dir = path.join(temp, 'adapter-replace');
    writeAdapter(dir, { modules: modules.slice(0, 1), extra: [{ name: 'base_model.model.model.norm.weight', dtype: 'F32', shape: [32], data: new Float32Array(32).fill(2) }] });
    const adapter = openLoraAdapter(dir, shapes(rc.dir));
    assert.ok(adapter.replacements.has('model.norm.weight'));
    assert.equal(adapter.deltas.size, 1);
  });

  const shapes = (dir: string) => new Map([...openCheckpoint(dir).weights].map(([n, w]) => [n, w.shape]));
  const refusal = (name: string, setup: (dir: string) => void, pattern: RegExp) =>
    it(`refuses ${name}`, () => {
      const dir = path.join(temp, `bad-${name.replace(/\W+/g, '-')}`);
      mkdirSync(dir, { recursive: true });
      setup(dir);
      assert.throws(() => openLoraAdapter(dir, shapes(rc.dir)), pattern);
    });

  refusal('a folder without adapter_config.json', () => undefined, /no adapter_config\.json/);
  refusal('another PEFT type', (dir) => {
    writeAdapter(dir, { modules });
    writeFileSync(path.join(dir, 'adapter_config.json'), JSON.stringify({ peft_type: 'IA3' }));
  }, /peft_type "IA3" is not supported/);
  refusal('DoRA', (dir) => writeAdapter(dir, { modules, config: { use_dora: true } }), /DoRA/);
  refusal('a pickle-only adapter (never unpickled)', (dir) => {
    writeFileSync(path.join(dir, 'adapter_config.json'), JSON.stringify({ peft_type: 'LORA', r: 4, lora_alpha: 8 }));
    writeFileSync(path.join(dir, 'adapter_model.bin'), 'not read');
  }, /pickle/);
  refusal('an adapter for another model (shape mismatch)', (dir) => writeAdapter(dir, { modules: [{ name: 'model.layers.0.self_attn.q_proj', out: 32, in: 48 }] }), /do not fit the base weight/);
  refusal('an adapter naming a module the base does not have', (dir) => writeAdapter(dir, { modules: [{ name: 'model.layers.7.self_attn.q_proj', out: 32, in: 32 }] }), /matches no weight of the base model/);
  refusal('a lora_A without its lora_B', (dir) => {
    writeSafetensors(path.join(dir, 'adapter_model.safetensors'), [{ name: 'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight', dtype: 'F32', shape: [R, 32], data: new Float32Array(R * 32) }]);
    writeFileSync(path.join(dir, 'adapter_config.json'), JSON.stringify({ peft_type: 'LORA', r: R, lora_alpha: 8 }));
  }, /has lora_A but no lora_B/);
  refusal('an adapter whose init changed the base (PiSSA)', (dir) => writeAdapter(dir, { modules, config: { init_lora_weights: 'pissa' } }), /changed the base weights/);
  refusal('LoRA biases', (dir) => writeAdapter(dir, { modules, config: { lora_bias: true } }), /lora_bias/);
  refusal('a regular-expression rank_pattern key (could hang the engine)', (dir) => writeAdapter(dir, { modules, config: { rank_pattern: { '(.*)*z': 4 } } }), /is a pattern/);
  refusal('a rank that contradicts the config', (dir) => writeAdapter(dir, { modules, config: { rank_pattern: { q_proj: 8 } } }), /has rank 4 but adapter_config\.json says 8/);
  refusal('a non-numeric alpha_pattern', (dir) => writeAdapter(dir, { modules, config: { alpha_pattern: { q_proj: 'big' } } }), /alpha_pattern\["q_proj"\] must be a positive number/);
  refusal('a config that is not an object', (dir) => writeFileSync(path.join(dir, 'adapter_config.json'), '[1]'), /must hold a JSON object/);

  it('a bias saved under base_layer (bias="all") replaces the base bias', () => {
    const dir = path.join(temp, 'adapter-bias');
    writeAdapter(dir, { modules: modules.slice(0, 1), extra: [{ name: 'base_model.model.model.layers.0.self_attn.q_proj.base_layer.bias', dtype: 'F32', shape: [32], data: new Float32Array(32).fill(0.5) }] });
    assert.ok(openLoraAdapter(dir, shapes(rc.dir)).replacements.has('model.layers.0.self_attn.q_proj.bias'));
  });

  refusal('invalid adapter_config.json', (dir) => writeFileSync(path.join(dir, 'adapter_config.json'), '{ nope'), /adapter_config\.json is not valid JSON/);
});
