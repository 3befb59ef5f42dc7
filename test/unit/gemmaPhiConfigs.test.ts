/**
 * The config.json of the published Gemma 2, Gemma 3, Phi-3 / 3.5 / 4 models (written from the Hub's files; the
 * longrope factor lists are stand-ins of the right length, not the published values), parsed into ModelSpecs:
 * shapes, layer patterns, RoPE settings, parameter counts and the RAM estimate at f32 / int8 / int4.
 */
import assert from 'node:assert/strict';
import { parseModelConfig, parameterCount, ConfigError, type ModelSpec } from '../../src/core/model/config';
import { estimateMemory } from '../../src/core/model/checkpoint';

const factors = (n: number, top: number) => Array.from({ length: n }, (_, i) => 1 + ((top - 1) * i) / (n - 1));

const gemma2Base = {
  architectures: ['Gemma2ForCausalLM'], attention_bias: false, attention_dropout: 0.0, attn_logit_softcapping: 50.0, bos_token_id: 2,
  cache_implementation: 'hybrid', eos_token_id: 1, final_logit_softcapping: 30.0, head_dim: 256, hidden_act: 'gelu_pytorch_tanh',
  hidden_activation: 'gelu_pytorch_tanh', initializer_range: 0.02, max_position_embeddings: 8192, model_type: 'gemma2', pad_token_id: 0,
  query_pre_attn_scalar: 256, rms_norm_eps: 1e-6, rope_theta: 10000.0, sliding_window: 4096, torch_dtype: 'float32', use_cache: true, vocab_size: 256000,
};
const gemma3Vision = (text: Record<string, unknown>) => ({
  architectures: ['Gemma3ForConditionalGeneration'], boi_token_index: 255999, eoi_token_index: 256000, eos_token_id: [1, 106], image_token_index: 262144,
  initializer_range: 0.02, mm_tokens_per_image: 256, model_type: 'gemma3', torch_dtype: 'bfloat16', transformers_version: '4.50.0.dev0',
  text_config: { model_type: 'gemma3_text', rope_scaling: { factor: 8.0, rope_type: 'linear' }, sliding_window: 1024, ...text },
  vision_config: { hidden_size: 1152, image_size: 896, intermediate_size: 4304, model_type: 'siglip_vision_model', num_attention_heads: 16, num_hidden_layers: 27, patch_size: 14, vision_use_head: false },
});
const phi3Base = {
  architectures: ['Phi3ForCausalLM'], attention_bias: false, attention_dropout: 0.0, bos_token_id: 1, embd_pdrop: 0.0, eos_token_id: 32000, hidden_act: 'silu',
  hidden_size: 3072, initializer_range: 0.02, intermediate_size: 8192, max_position_embeddings: 4096, model_type: 'phi3', num_attention_heads: 32,
  num_hidden_layers: 32, num_key_value_heads: 32, original_max_position_embeddings: 4096, pad_token_id: 32000, resid_pdrop: 0.0, rms_norm_eps: 1e-5,
  rope_scaling: null, rope_theta: 10000.0, sliding_window: 2047, tie_word_embeddings: false, torch_dtype: 'bfloat16', use_cache: true, vocab_size: 32064,
};
const longrope = (n: number) => ({ type: 'longrope', short_factor: factors(n, 2), long_factor: factors(n, 40) });

interface Expected {
  layers: number; d: number; ff: number; heads: number; kv: number; hd: number; vocab: number;
  /** Published parameter count (text model), to 0.5 %. */
  params: number;
  window?: number; fullLayers?: number[]; theta: number; localTheta?: number; linear?: number; rotary?: number;
  longrope?: { original: number; attention: number }; tied: boolean; scale?: number; caps?: [number | undefined, number | undefined]; embedScale?: number;
}

const MODELS: [string, Record<string, unknown>, Expected][] = [
  ['gemma-2-2b', { ...gemma2Base, hidden_size: 2304, intermediate_size: 9216, num_attention_heads: 8, num_hidden_layers: 26, num_key_value_heads: 4 },
    { layers: 26, d: 2304, ff: 9216, heads: 8, kv: 4, hd: 256, vocab: 256000, params: 2.614e9, window: 4096, fullLayers: [1, 3, 25], theta: 10000, tied: true, scale: 1 / 16, caps: [50, 30], embedScale: Math.fround(48) }],
  ['gemma-2-9b', { ...gemma2Base, hidden_size: 3584, intermediate_size: 14336, num_attention_heads: 16, num_hidden_layers: 42, num_key_value_heads: 8 },
    { layers: 42, d: 3584, ff: 14336, heads: 16, kv: 8, hd: 256, vocab: 256000, params: 9.242e9, window: 4096, fullLayers: [1, 41], theta: 10000, tied: true, scale: 1 / 16, caps: [50, 30], embedScale: Math.fround(Math.sqrt(3584)) }],
  ['gemma-2-27b', { ...gemma2Base, head_dim: 128, hidden_size: 4608, intermediate_size: 36864, num_attention_heads: 32, num_hidden_layers: 46, num_key_value_heads: 16, query_pre_attn_scalar: 144 },
    { layers: 46, d: 4608, ff: 36864, heads: 32, kv: 16, hd: 128, vocab: 256000, params: 27.227e9, window: 4096, fullLayers: [1, 45], theta: 10000, tied: true, scale: 1 / 12, caps: [50, 30] }],
  ['gemma-3-1b-it', {
    architectures: ['Gemma3ForCausalLM'], attention_bias: false, attention_dropout: 0.0, attn_logit_softcapping: null, bos_token_id: 2, cache_implementation: 'hybrid',
    eos_token_id: [1, 106], final_logit_softcapping: null, head_dim: 256, hidden_activation: 'gelu_pytorch_tanh', hidden_size: 1152, initializer_range: 0.02,
    intermediate_size: 6912, max_position_embeddings: 32768, model_type: 'gemma3_text', num_attention_heads: 4, num_hidden_layers: 26, num_key_value_heads: 1,
    pad_token_id: 0, query_pre_attn_scalar: 256, rms_norm_eps: 1e-6, rope_local_base_freq: 10000, rope_scaling: null, rope_theta: 1000000, sliding_window: 512,
    sliding_window_pattern: 6, torch_dtype: 'bfloat16', vocab_size: 262144,
  }, { layers: 26, d: 1152, ff: 6912, heads: 4, kv: 1, hd: 256, vocab: 262144, params: 1.0e9, window: 512, fullLayers: [5, 11, 17, 23], theta: 1e6, localTheta: 10000, tied: true, scale: 1 / 16, caps: [undefined, undefined], embedScale: 34 }],
  ['gemma-3-4b-it (vision checkpoint: text_config, HF defaults for the rest)', gemma3Vision({ hidden_size: 2560, intermediate_size: 10240, num_hidden_layers: 34 }),
    { layers: 34, d: 2560, ff: 10240, heads: 8, kv: 4, hd: 256, vocab: 262208, params: 3.88e9, window: 1024, fullLayers: [5, 11, 17, 23, 29], theta: 1e6, localTheta: 10000, linear: 8, tied: true, scale: 1 / 16, caps: [undefined, undefined], embedScale: 50.5 }],
  ['gemma-3-12b-it', gemma3Vision({ hidden_size: 3840, intermediate_size: 15360, num_attention_heads: 16, num_hidden_layers: 48, num_key_value_heads: 8 }),
    { layers: 48, d: 3840, ff: 15360, heads: 16, kv: 8, hd: 256, vocab: 262208, params: 11.77e9, window: 1024, fullLayers: [5, 47], theta: 1e6, localTheta: 10000, linear: 8, tied: true, scale: 1 / 16, embedScale: 62 }],
  ['gemma-3-27b-it', gemma3Vision({ head_dim: 128, hidden_size: 5376, intermediate_size: 21504, num_attention_heads: 32, num_hidden_layers: 62, num_key_value_heads: 16, query_pre_attn_scalar: 168 }),
    { layers: 62, d: 5376, ff: 21504, heads: 32, kv: 16, hd: 128, vocab: 262208, params: 27.01e9, window: 1024, fullLayers: [5, 59], theta: 1e6, localTheta: 10000, linear: 8, tied: true, scale: 168 ** -0.5, embedScale: 73.5 }],
  ['Phi-3-mini-4k-instruct', { ...phi3Base },
    { layers: 32, d: 3072, ff: 8192, heads: 32, kv: 32, hd: 96, vocab: 32064, params: 3.821e9, window: 2047, theta: 10000, tied: false }],
  ['Phi-3-mini-128k-instruct', { ...phi3Base, max_position_embeddings: 131072, rope_scaling: longrope(48), sliding_window: 262144 },
    { layers: 32, d: 3072, ff: 8192, heads: 32, kv: 32, hd: 96, vocab: 32064, params: 3.821e9, window: 262144, theta: 10000, tied: false, longrope: { original: 4096, attention: Math.sqrt(1 + Math.log(32) / Math.log(4096)) } }],
  ['Phi-3-medium-4k-instruct', { ...phi3Base, hidden_size: 5120, intermediate_size: 17920, num_attention_heads: 40, num_hidden_layers: 40, num_key_value_heads: 10 },
    { layers: 40, d: 5120, ff: 17920, heads: 40, kv: 10, hd: 128, vocab: 32064, params: 13.96e9, window: 2047, theta: 10000, tied: false }],
  ['Phi-3.5-mini-instruct', { ...phi3Base, max_position_embeddings: 131072, rope_scaling: longrope(48), sliding_window: 262144, eos_token_id: 32000 },
    { layers: 32, d: 3072, ff: 8192, heads: 32, kv: 32, hd: 96, vocab: 32064, params: 3.821e9, window: 262144, theta: 10000, tied: false, longrope: { original: 4096, attention: Math.sqrt(1 + Math.log(32) / Math.log(4096)) } }],
  ['phi-4', {
    ...phi3Base, bos_token_id: 100257, eos_token_id: 100265, hidden_size: 5120, intermediate_size: 17920, max_position_embeddings: 16384, num_attention_heads: 40,
    num_hidden_layers: 40, num_key_value_heads: 10, original_max_position_embeddings: 16384, pad_token_id: 100349, rope_theta: 250000, sliding_window: null, vocab_size: 100352,
  }, { layers: 40, d: 5120, ff: 17920, heads: 40, kv: 10, hd: 128, vocab: 100352, params: 14.66e9, theta: 250000, tied: false }],
  ['Phi-4-mini-instruct', {
    ...phi3Base, bos_token_id: 199999, eos_token_id: 199999, full_attn_mod: 1, interpolate_factor: 1, lm_head_bias: false, max_position_embeddings: 131072, mlp_bias: false,
    num_attention_heads: 24, num_key_value_heads: 8, pad_token_id: 199999, partial_rotary_factor: 0.75, rope_scaling: longrope(48), sliding_window: 262144,
    tie_word_embeddings: true, vocab_size: 200064,
  }, { layers: 32, d: 3072, ff: 8192, heads: 24, kv: 8, hd: 128, vocab: 200064, params: 3.836e9, window: 262144, theta: 10000, rotary: 96, tied: true, longrope: { original: 4096, attention: Math.sqrt(1 + Math.log(32) / Math.log(4096)) } }],
];

describe('published Gemma 2 / Gemma 3 / Phi-3 / Phi-4 configs', () => {
  const rows: string[] = [];
  after(() => console.log(`  RAM estimate (GiB) f32 / int8 / int4:\n${rows.join('\n')}`));
  for (const [name, config, e] of MODELS) {
    it(`${name}: shapes, layer pattern, RoPE, parameters, RAM at f32 / int8 / int4`, () => {
      const spec: ModelSpec = parseModelConfig(config, `${name}/config.json`);
      assert.deepEqual([spec.numLayers, spec.hiddenSize, spec.intermediateSize, spec.numHeads, spec.numKvHeads, spec.headDim, spec.vocabSize], [e.layers, e.d, e.ff, e.heads, e.kv, e.hd, e.vocab]);
      assert.equal(spec.tieWordEmbeddings, e.tied);
      assert.equal(spec.slidingWindow, e.window);
      if (e.fullLayers) {
        assert.equal(spec.slidingLayers?.length, e.layers);
        for (const l of e.fullLayers) assert.equal(spec.slidingLayers![l], false, `layer ${l} is a full-attention layer`);
        assert.equal(spec.slidingLayers![0], true, 'layer 0 slides');
        const full = spec.slidingLayers!.filter((s) => !s).length;
        assert.equal(full, spec.architecture === 'gemma2' ? Math.floor(e.layers / 2) : Math.floor(e.layers / 6));
      } else {
        assert.equal(spec.slidingLayers, undefined, 'every layer alike');
      }
      assert.equal(spec.rope.theta, e.theta);
      assert.equal(spec.localRope?.theta, e.localTheta);
      assert.equal(spec.rope.linearFactor, e.linear);
      assert.equal(spec.rotaryDim, e.rotary);
      if (e.longrope) {
        assert.equal(spec.rope.longrope?.originalMaxPositions, e.longrope.original);
        assert.ok(Math.abs(spec.rope.longrope!.attentionFactor - e.longrope.attention) < 1e-12);
        assert.equal(spec.rope.longrope!.shortFactor.length, (e.rotary ?? e.hd) / 2);
      } else {
        assert.equal(spec.rope.longrope, undefined);
      }
      if (e.scale !== undefined) assert.ok(Math.abs(spec.attentionScale! - e.scale) < 1e-12, `attention scale ${spec.attentionScale}`);
      if (e.caps) assert.deepEqual([spec.attnSoftcap, spec.finalSoftcap], e.caps);
      if (e.embedScale !== undefined) assert.equal(spec.embeddingScale, e.embedScale);
      assert.equal(spec.fusedProjections, spec.architecture === 'phi3' ? true : undefined);
      assert.equal(spec.qkNorm, spec.architecture === 'gemma3');

      const params = parameterCount(spec);
      assert.ok(Math.abs(params / e.params - 1) < 0.005, `${params} parameters, published ≈ ${e.params}`);
      const [f32, int8, int4] = (['f32', 'int8', 'int4'] as const).map((p) => estimateMemory(spec, p, 1e15));
      for (const m of [f32, int8, int4]) assert.equal(m.parameters, params);
      assert.ok(f32.requiredBytes > params * 4 * 1.2, 'f32: the weights at 4 bytes plus working memory');
      assert.ok(int8.requiredBytes < f32.requiredBytes / 3 && int8.requiredBytes > params * 1.0625);
      assert.ok(int4.requiredBytes < int8.requiredBytes && int4.requiredBytes > params * 0.5625);
      const gib = (b: number) => (b / 1024 ** 3).toFixed(1).padStart(6);
      rows.push(`    ${gib(f32.requiredBytes)} ${gib(int8.requiredBytes)} ${gib(int4.requiredBytes)}  ${name} (${(params / 1e9).toFixed(3)} B)`);
    });
  }

  it('Gemma 3 in transformers 5 form (rope_parameters per layer type, layer_types) reads the same', () => {
    const v4 = parseModelConfig(MODELS[4][1]);
    const text = (MODELS[4][1] as { text_config: Record<string, unknown> }).text_config;
    const layerTypes = Array.from({ length: 34 }, (_, i) => ((i + 1) % 6 ? 'sliding_attention' : 'full_attention'));
    const v5 = parseModelConfig({ ...MODELS[4][1], text_config: { ...text, rope_scaling: undefined, layer_types: layerTypes, rope_parameters: { full_attention: { rope_type: 'linear', factor: 8.0, rope_theta: 1000000 }, sliding_attention: { rope_type: 'default', rope_theta: 10000 } } } });
    assert.deepEqual(v5, v4);
  });

  it('the refusal for another model_type lists every supported architecture', () => {
    assert.throws(() => parseModelConfig({ model_type: 'gemma', hidden_size: 8 }), /model_type "gemma" is not supported\. Supported architectures: llama, mistral, qwen2, qwen3, gemma2, gemma3, phi3 \(model_type gemma3_text, or gemma3 /);
    assert.throws(() => parseModelConfig({ model_type: 'phi3small' }), /Supported architectures: .*phi3/);
  });

  it('refuses what it cannot reproduce exactly, by name', () => {
    const phi = MODELS[8][1];
    assert.throws(() => parseModelConfig({ ...phi, rope_scaling: { type: 'dynamic', factor: 2 } }), /rope_scaling type "dynamic" is not supported for phi3 \(supported: default, longrope\)/);
    assert.throws(() => parseModelConfig({ ...phi, rope_scaling: { type: 'longrope', short_factor: [1, 2], long_factor: [1, 2] } }), /short_factor must list 48 positive numbers/);
    assert.throws(() => parseModelConfig({ ...phi, partial_rotary_factor: 0.3 }), /gives 28 rotary dimensions|must be a positive even number|short_factor must list 14/);
    assert.throws(() => parseModelConfig({ ...MODELS[3][1], use_bidirectional_attention: true }), /use_bidirectional_attention/);
    assert.throws(() => parseModelConfig({ ...MODELS[0][1], hidden_activation: 'gelu' }), /hidden_activation "gelu" is not supported/);
    assert.throws(() => parseModelConfig({ ...MODELS[3][1], rope_scaling: { rope_type: 'yarn', factor: 8 } }), /rope_scaling type "yarn" is not supported for gemma3/);
    assert.throws(() => parseModelConfig({ model_type: 'gemma3', vision_config: {} }), /has no text_config: Persona Lens runs only its text model/);
    assert.throws(() => parseModelConfig({ ...MODELS[0][1], model_type: 'llama', hidden_act: 'silu', partial_rotary_factor: 0.5 }), /partial_rotary_factor 0\.5 is not supported/);
    assert.throws(() => parseModelConfig({ ...MODELS[3][1], torch_dtype: 'float8' }), ConfigError);
  });

  it('HF defaults: Phi-3 old "su" rope type is longrope; Gemma 2 without soft-cap keys gets 50 / 30; an explicit null disables', () => {
    const su = parseModelConfig({ ...MODELS[8][1], rope_scaling: { ...longrope(48), type: 'su' } });
    assert.ok(su.rope.longrope);
    const bare = { ...MODELS[0][1] } as Record<string, unknown>;
    delete bare.attn_logit_softcapping;
    delete bare.final_logit_softcapping;
    assert.deepEqual([parseModelConfig(bare).attnSoftcap, parseModelConfig(bare).finalSoftcap], [50, 30]);
    assert.deepEqual([parseModelConfig({ ...bare, attn_logit_softcapping: null }).attnSoftcap], [undefined]);
    // √3072 = 55.4256 becomes 55.5 in bfloat16, as HF's comment says.
    assert.equal(parseModelConfig({ ...MODELS[0][1], hidden_size: 3072, torch_dtype: 'bfloat16' }).embeddingScale, 55.5);
  });
});
