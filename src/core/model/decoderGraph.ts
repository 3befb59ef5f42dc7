/**
 * Builds the ONNX graph of a llama / mistral / qwen2 / qwen3 / gemma2 / gemma3 / phi3 decoder that reproduces HF
 * transformers' forward pass, plus what transformers.js graphs cannot do: every residual-stream row as an output (HF
 * `output_hidden_states` convention) and steering / directional-ablation inputs at every row.
 *
 * Graph inputs (B batch, S new tokens, P past tokens, T = P + S, L layers, d hidden, rd rotary dims ≤ hd):
 *   input_ids [B,S] int64; rope_cos, rope_sin [B,S,rd/2] (one entry per rotated pair); attn_bias [B,1,S,T] (0 or a
 *   large negative); with sliding and full layers mixed (gemma): attn_bias_local [B,1,S,T] (the windowed mask of the
 *   sliding layers; attn_bias is then the full causal mask); with a RoPE of their own on the sliding layers (gemma3):
 *   rope_cos_local, rope_sin_local [B,S,rd/2];
 *   steer_add [B,L+1,d] (α·v per row, zero rows do nothing); steer_mask [B,S,1] (1 where steering applies);
 *   ablate_dir [B,L+1,d] (unit directions to project out, zero rows do nothing);
 *   logits_rows [K] int64 (flat b·S+s positions whose logits are wanted); past_key_l / past_value_l [B,KV,P,hd].
 * Outputs: logits [K,V]; hidden_0 … hidden_L [B,S,d] (row 0 embeddings, row l output of block l, row L after the
 *   final norm); present_key_l / present_value_l [B,KV,T,hd].
 * Row r's steering and ablation apply to the residual stream after block r (row 0: the embeddings), before
 * block r+1 reads it, so hidden_r reports the steered stream. For the last row they apply before the final norm.
 */
import { GraphBuilder, DataType } from '../onnx/graphBuilder';
import type { ModelSpec } from './config';
import { weightNames } from './checkpoint';
import { QUANT_ACCURACY_LEVEL, quantizedShapes } from './quantize';

/** Where an initializer's bytes live (relative to the .onnx file). */
export interface WeightLocation {
  location: string;
  offset: number;
  length: number;
  shape: number[];
}

/** A weight stored as float32, or as MatMulNBits blocks (see quantize.ts) of an HF [N = out, K = in] matrix. */
export type StoredWeight =
  | ({ kind: 'f32' } & WeightLocation)
  | { kind: 'blocks'; bits: 4 | 8; block: number; shape: [number, number]; packed: WeightLocation; scales: WeightLocation };

export type WeightLookup = (name: string) => StoredWeight;

/**
 * Opset 23 has RMSNormalization and RotaryEmbedding as single ops (onnxruntime kernels on CPU, CUDA and WebGPU). Each
 * replaces a subgraph of 6 to 10 small nodes; at decode (one token) per-node overhead is most of a layer's time
 * outside the matmuls.
 */
export const DECODER_OPSET = 23;
/** Bump when the graph changes, so cached graphs are rebuilt. */
export const DECODER_GRAPH_VERSION = 3;
/** HF masks with the dtype's minimum; half of it keeps bias + score finite. */
export const MASKED = -1.7e38;

/** Whether layer l attends through the sliding window. */
export function layerIsSliding(spec: ModelSpec, l: number): boolean {
  if (spec.slidingWindow === undefined) return false;
  return spec.slidingLayers ? spec.slidingLayers[l] === true : true;
}

/** The optional graph inputs a spec needs: a second mask for mixed sliding / full layers, a second RoPE table. */
export function graphInputLayout(spec: ModelSpec): { localMask: boolean; localRope: boolean } {
  const sliding = Array.from({ length: spec.numLayers }, (_, l) => layerIsSliding(spec, l));
  const mixed = sliding.some((x) => x) && sliding.some((x) => !x);
  return { localMask: mixed, localRope: spec.localRope !== undefined && sliding.some((x) => x) };
}

export function buildDecoderGraph(spec: ModelSpec, weight: WeightLookup, lmHead: string): Uint8Array {
  const g = new GraphBuilder(`${spec.architecture}_decoder`);
  const { hiddenSize: d, numHeads: H, numKvHeads: KV, headDim: hd, numLayers: L, vocabSize: V, intermediateSize: F } = spec;
  const G = H / KV;
  const rows = L + 1;
  const F32 = DataType.FLOAT;

  const rd = spec.rotaryDim ?? hd;
  const inputIds = g.input('input_ids', DataType.INT64, ['batch', 'seq']);
  const cos = g.input('rope_cos', F32, ['batch', 'seq', rd / 2]);
  const sin = g.input('rope_sin', F32, ['batch', 'seq', rd / 2]);
  const attnBias = g.input('attn_bias', F32, ['batch', 1, 'seq', 'total']);
  const layout = graphInputLayout(spec);
  const attnBiasLocal = layout.localMask ? g.input('attn_bias_local', F32, ['batch', 1, 'seq', 'total']) : attnBias;
  const cosLocal = layout.localRope ? g.input('rope_cos_local', F32, ['batch', 'seq', rd / 2]) : cos;
  const sinLocal = layout.localRope ? g.input('rope_sin_local', F32, ['batch', 'seq', rd / 2]) : sin;
  const steerAdd = g.input('steer_add', F32, ['batch', rows, d]);
  const steerMask = g.input('steer_mask', F32, ['batch', 'seq', 1]);
  const ablateDir = g.input('ablate_dir', F32, ['batch', rows, d]);
  const logitsRows = g.input('logits_rows', DataType.INT64, ['rows']);

  // Each initializer is declared once, whoever asks for it first (tied embeddings serve the lm_head too).
  const declared = new Map<string, string>();
  const external = (name: string, dataType: number, at: WeightLocation): string => {
    if (!declared.has(name)) declared.set(name, g.externalInitializer({ name, dataType, dims: at.shape, location: at.location, offset: at.offset, length: at.length }));
    return declared.get(name)!;
  };
  /** A float32 weight (norms, biases, and linear weights at f32 precision). */
  const init = (name: string): string => {
    const w = weight(name);
    if (w.kind !== 'f32') throw new Error(`weight ${name} must be float32 (norms and biases always are)`);
    return external(name, F32, w);
  };
  const blocks = (name: string, w: Extract<StoredWeight, { kind: 'blocks' }>) => ({
    packed: external(`${name}.packed`, DataType.UINT8, w.packed),
    scales: external(`${name}.scales`, F32, w.scales),
  });
  /** x [..., K] · Wᵀ → [..., N] for a block-quantized weight: float32 in and out. */
  const matMulNBits = (x: string, name: string, w: Extract<StoredWeight, { kind: 'blocks' }>, outputName?: string): string => {
    const { packed, scales } = blocks(name, w);
    const [n, k] = w.shape;
    return g.nodeMulti('MatMulNBits', [x, packed, scales], 1, { K: k, N: n, bits: w.bits, block_size: w.block, accuracy_level: QUANT_ACCURACY_LEVEL }, outputName ? [outputName] : undefined, 'com.microsoft')[0];
  };

  // Shapes computed once: [B,S] from input_ids, then [B,S,n] for each projection width.
  const bs = g.node('Slice', [g.node('Shape', [inputIds]), g.int64s([0]), g.int64s([2])]);
  const shapeCache = new Map<number, string>();
  const shapeBS = (n: number): string => {
    if (!shapeCache.has(n)) shapeCache.set(n, g.node('Concat', [bs, g.int64s([n])], { axis: 0 }));
    return shapeCache.get(n)!;
  };
  const flat = (n: number) => g.int64s([-1, n]);
  const flatD = flat(d);

  /** x [B,S,in] · Wᵀ (+ b) → [B,S,out]; HF Linear weights are [out, in], so Gemm with transB. */
  const linear = (x: string, prefix: string, outDim: number, inDim: number, bias: boolean): string => {
    const w = weight(`${prefix}.weight`);
    if (w.kind === 'blocks') {
      const y = matMulNBits(x, `${prefix}.weight`, w);
      return bias ? g.node('Add', [y, init(`${prefix}.bias`)]) : y;
    }
    const x2 = g.node('Reshape', [x, inDim === d ? flatD : flat(inDim)]);
    const inputs = [x2, init(`${prefix}.weight`)];
    if (bias) inputs.push(init(`${prefix}.bias`));
    return g.node('Reshape', [g.node('Gemm', inputs, { transB: 1 }), shapeBS(outDim)]);
  };

  // Constants only some architectures use are made on first use, so the others' graphs stay as they were.
  const lazyScalar = (value: number) => {
    let name: string | undefined;
    return () => (name ??= g.floatScalar(value));
  };
  const one = lazyScalar(1);
  /** HF RMSNorm over the last axis: x / sqrt(mean(x²) + eps) · w, or · (1 + w) for gemma (float32 either way). */
  const rmsNorm = (x: string, weightName: string, outputName?: string): string => {
    const w = spec.normPlusOne ? g.node('Add', [init(weightName), one()]) : init(weightName);
    return g.node('RMSNormalization', [x, w], { axis: -1, epsilon: { float: spec.rmsNormEps }, stash_type: DataType.FLOAT }, outputName);
  };

  /**
   * q·cos + rotate_half(q)·sin on [B,S,heads·hd] (HF's half-split layout, rotate_half(x) = cat(−x₂, x₁)); with partial
   * rotary (phi3) only the first rd dimensions of each head turn, the rest pass through.
   */
  const rope = (x: string, heads: number, c: string, s: string): string =>
    g.node('RotaryEmbedding', [x, c, s], { num_heads: heads, interleaved: 0, ...(rd < hd ? { rotary_embedding_dim: rd } : {}) });
  /** cap · tanh(x / cap) (gemma2's soft-capping of attention and output logits). */
  const softcap = (x: string, cap: number, outputName?: string): string => g.node('Mul', [g.node('Tanh', [g.node('Div', [x, g.floatScalar(cap)])]), g.floatScalar(cap)], {}, outputName);
  const sqrt2OverPi = lazyScalar(Math.sqrt(2 / Math.PI));
  const geluCoefficient = lazyScalar(0.044715);
  const halfScalar = lazyScalar(0.5);
  /** The MLP gate's activation: SiLU, or gelu_pytorch_tanh 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). */
  const activate = (x: string): string => {
    if (spec.activation !== 'gelu_tanh') return g.node('Mul', [x, g.node('Sigmoid', [x])]);
    const cube = g.node('Mul', [g.node('Mul', [x, x]), x]);
    const inner = g.node('Mul', [g.node('Add', [x, g.node('Mul', [cube, geluCoefficient()])]), sqrt2OverPi()]);
    return g.node('Mul', [g.node('Mul', [x, halfScalar()]), g.node('Add', [g.node('Tanh', [inner]), one()])]);
  };

  // Each row's direction and addition, [B,1,d], from one Split of the inputs (not a Gather + Unsqueeze per row).
  const rowSplit = g.int64s(Array.from({ length: rows }, () => 1));
  const ablateRows = g.nodeMulti('Split', [ablateDir, rowSplit], rows, { axis: 1 });
  const addRows = g.nodeMulti('Split', [steerAdd, rowSplit], rows, { axis: 1 });
  /**
   * Steering and ablation of residual-stream row r: h + m·(a − (h·u)·u), m the steering mask, u the unit direction
   * to ablate, a = α·v (the same as ablating, then adding m·a, in fewer nodes: this runs at every row of every
   * forward pass). With u = 0 the row moves by exactly m·a. `outputName` names the result (a graph output, no copy).
   */
  const intervene = (h: string, r: number, outputName?: string): string => {
    const u = ablateRows[r];
    const along = g.node('ReduceSum', [g.node('Mul', [h, u]), g.int64s([-1])], { keepdims: 1 }); // [B,S,1]
    const change = g.node('Sub', [addRows[r], g.node('Mul', [along, u])]); // [B,S,d]
    return g.node('Add', [h, g.node('Mul', [change, steerMask])], {}, outputName);
  };

  const scale = g.floatScalar(spec.attentionScale ?? 1 / Math.sqrt(hd));
  const qShape = g.int64s([0, 0, H, hd]);
  const kvShape = g.int64s([0, 0, KV, hd]);
  const qGroupShape = g.int64s([0, 0, KV, G, hd]);
  const mergedShape = (heads: number) => g.int64s([0, 0, heads * hd]);
  const axis2 = g.int64s([2]);
  /** q_norm / k_norm (qwen3, gemma3) normalise each head's hd values: [B,S,heads·hd] → per head → back. */
  const headNorm = (x: string, heads: number, headsShape: string, weightName: string): string => g.node('Reshape', [rmsNorm(g.node('Reshape', [x, headsShape]), weightName), mergedShape(heads)]);
  // The masks arrive as [B,1,S,T] and broadcast over the grouped scores [B,KV,G,S,T] as [B,1,1,S,T].
  const groupedBias = g.node('Unsqueeze', [attnBias, axis2]);
  const groupedBiasLocal = layout.localMask ? g.node('Unsqueeze', [attnBiasLocal, axis2]) : groupedBias;

  /** Embedding rows for input_ids; block-quantized embeddings are gathered as blocks and dequantized. */
  const embed = (): string => {
    const name = 'model.embed_tokens.weight';
    const w = weight(name);
    if (w.kind === 'f32') return g.node('Gather', [init(name), inputIds], { axis: 0 });
    const { packed, scales } = blocks(name, w);
    const { blocks: kb } = quantizedShapes(w.shape[0], w.shape[1], w.bits, w.block);
    let codes = g.node('Cast', [g.node('Gather', [packed, inputIds], { axis: 0 })], { to: F32 }); // [B,S,kb,blob]
    if (w.bits === 4) {
      // Two codes per byte, the first in the low nibble: split and interleave them back in order.
      const high = g.node('Floor', [g.node('Div', [codes, g.floatScalar(16)])]);
      const low = g.node('Sub', [codes, g.node('Mul', [high, g.floatScalar(16)])]);
      const last = g.int64s([-1]);
      codes = g.node('Reshape', [g.node('Concat', [g.node('Unsqueeze', [low, last]), g.node('Unsqueeze', [high, last])], { axis: -1 }), g.int64s([0, 0, kb, w.block])]);
    }
    const centred = g.node('Sub', [codes, g.floatScalar(1 << (w.bits - 1))]);
    const scale = g.node('Unsqueeze', [g.node('Gather', [scales, inputIds], { axis: 0 }), g.int64s([-1])]); // [B,S,kb,1]
    const rows = g.node('Reshape', [g.node('Mul', [centred, scale]), g.int64s([0, 0, kb * w.block])]);
    return kb * w.block === d ? rows : g.node('Slice', [rows, g.int64s([0]), g.int64s([d]), g.int64s([-1])]);
  };

  let h = embed();
  // gemma: embeddings × √d (rounded to the checkpoint's dtype, see config.ts); hidden_0 is the scaled row, as in HF.
  if (spec.embeddingScale !== undefined && spec.embeddingScale !== 1) h = g.node('Mul', [h, g.floatScalar(spec.embeddingScale)]);
  // Hidden rows are the residual tensors themselves, named as graph outputs: no copy unless fetched.
  h = intervene(h, 0, 'hidden_0');
  const qkvSplit = spec.fusedProjections ? g.int64s([H * hd, KV * hd, KV * hd]) : '';
  const gateUpSplit = spec.fusedProjections ? g.int64s([F, F]) : '';
  for (let l = 0; l < L; l++) {
    const n = weightNames(spec, l);
    const sliding = layerIsSliding(spec, l);
    const x = rmsNorm(h, n.inputNorm);
    let qFlat: string, kFlat: string, vFlat: string;
    if (spec.fusedProjections) {
      // phi3's qkv_proj: the q rows, then k, then v; its output split the same way (the same dot products).
      [qFlat, kFlat, vFlat] = g.nodeMulti('Split', [linear(x, n.qkv, (H + 2 * KV) * hd, d, false), qkvSplit], 3, { axis: -1 });
    } else {
      qFlat = linear(x, n.q, H * hd, d, spec.qkvBias);
      kFlat = linear(x, n.k, KV * hd, d, spec.qkvBias);
      vFlat = linear(x, n.v, KV * hd, d, spec.qkvBias);
    }
    // RotaryEmbedding takes the heads merged, [B,S,heads·hd]; attention below works per head.
    let q = qFlat;
    let k = kFlat;
    if (spec.qkNorm) {
      q = headNorm(q, H, qShape, n.qNorm);
      k = headNorm(k, KV, kvShape, n.kNorm);
    }
    const [c, s] = sliding && layout.localRope ? [cosLocal, sinLocal] : [cos, sin];
    q = g.node('Reshape', [rope(q, H, c, s), qShape]); // [B,S,H,hd]
    k = g.node('Reshape', [rope(k, KV, c, s), kvShape]); // [B,S,KV,hd]
    const v = g.node('Reshape', [vFlat, kvShape]);
    // Attention as MatMul / Softmax nodes, not onnxruntime's fused Attention-23: its CUDA kernel refuses grouped-query
    // heads and soft-capping, and WebGPU has none (it would run on the CPU). Cache layout as HF: [B,KV,T,hd].
    const pastK = g.input(`past_key_${l}`, F32, ['batch', KV, 'past', hd]);
    const pastV = g.input(`past_value_${l}`, F32, ['batch', KV, 'past', hd]);
    const kT = g.node('Concat', [pastK, g.node('Transpose', [k], { perm: [0, 2, 1, 3] })], { axis: 2 }, `present_key_${l}`);
    const vT = g.node('Concat', [pastV, g.node('Transpose', [v], { perm: [0, 2, 1, 3] })], { axis: 2 }, `present_value_${l}`);
    g.output(kT, F32, ['batch', KV, 'total', hd]);
    g.output(vT, F32, ['batch', KV, 'total', hd]);
    // Query head h uses kv head ⌊h/G⌋: group queries as [B,KV,G,S,hd] and broadcast k, v over G.
    const qg = g.node('Transpose', [g.node('Reshape', [g.node('Mul', [q, scale]), qGroupShape])], { perm: [0, 2, 3, 1, 4] });
    const kb = g.node('Unsqueeze', [g.node('Transpose', [kT], { perm: [0, 1, 3, 2] }), axis2]); // [B,KV,1,hd,T]
    const logits = g.node('MatMul', [qg, kb]); // [B,KV,G,S,T]
    const scores = g.node('Add', [spec.attnSoftcap ? softcap(logits, spec.attnSoftcap) : logits, sliding ? groupedBiasLocal : groupedBias]);
    const probs = g.node('Softmax', [scores], { axis: -1 });
    const ctx = g.node('MatMul', [probs, g.node('Unsqueeze', [vT, axis2])]); // [B,KV,G,S,hd]
    const merged = g.node('Reshape', [g.node('Transpose', [ctx], { perm: [0, 3, 1, 2, 4] }), shapeBS(H * hd)]);
    const attnOut = linear(merged, n.o, d, H * hd, spec.oBias);
    // gemma: the attention output is normed before the residual add, and the MLP's input and output are normed.
    h = g.node('Add', [h, spec.sandwichNorms ? rmsNorm(attnOut, n.postNorm) : attnOut]);
    const y = rmsNorm(h, spec.sandwichNorms ? n.preFfNorm : n.postNorm);
    let gate: string, up: string;
    if (spec.fusedProjections) [gate, up] = g.nodeMulti('Split', [linear(y, n.gateUp, 2 * F, d, false), gateUpSplit], 2, { axis: -1 });
    else [gate, up] = [linear(y, n.gate, F, d, spec.mlpBias), linear(y, n.up, F, d, spec.mlpBias)];
    const mlpOut = linear(g.node('Mul', [activate(gate), up]), n.down, d, F, spec.mlpBias);
    const mlp = spec.sandwichNorms ? rmsNorm(mlpOut, n.postFfNorm) : mlpOut;
    // Row L (the last block's output) is reported after the final norm, as HF does; the pre-norm tensor stays internal.
    h = intervene(g.node('Add', [h, mlp]), l + 1, l + 1 < L ? `hidden_${l + 1}` : undefined);
  }
  const final = rmsNorm(h, 'model.norm.weight', `hidden_${L}`);
  for (let r = 0; r <= L; r++) g.output(`hidden_${r}`, F32, ['batch', 'seq', d]);

  const picked = g.node('Gather', [g.node('Reshape', [final, flatD]), logitsRows], { axis: 0 });
  const lm = weight(lmHead);
  const logitsName = spec.finalSoftcap ? undefined : 'logits';
  const raw = lm.kind === 'blocks' ? matMulNBits(picked, lmHead, lm, logitsName) : g.node('Gemm', [picked, init(lmHead)], { transB: 1 }, logitsName);
  if (spec.finalSoftcap) softcap(raw, spec.finalSoftcap, 'logits');
  g.output('logits', F32, ['rows', V]);
  return g.encode(DECODER_OPSET, { 'com.microsoft': 1 });
}
