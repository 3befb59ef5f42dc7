/**
 * Runs the decoder graph: one forward pass over a batch of new tokens, with an optional KV cache, steering,
 * ablation, and a choice of hidden-state rows and logit positions to fetch (unfetched rows cost no copy).
 */
import * as os from 'node:os';
import type * as Ort from 'onnxruntime-node';
import { loadOnnxRuntime } from '../onnx/runtime';
import { sessionProviders } from '../onnx/devices';
import type { Device } from '../onnx/deviceChoice';
import type { ModelSpec } from './config';
import { inverseFrequencies, rotaryTables } from './rope';
import { graphInputLayout, layerIsSliding, MASKED } from './decoderGraph';

export interface KvCache {
  keys: Ort.Tensor[];
  values: Ort.Tensor[];
  /** Cached length P (including left padding). */
  length: number;
  /** Per batch row, 1 where the cached position holds a real token, 0 for padding. */
  valid: Uint8Array[];
  /** longrope models: whether the cached keys were rotated with the long factors (see DecoderSession.forward). */
  longRope?: boolean;
}

/** Per batch row: α·v added to each residual row, and unit directions to project out. */
export interface Intervention {
  /** [L+1, d] per batch row (undefined = none); rows of zeros leave that layer alone. */
  add?: (Float32Array | undefined)[];
  /** [L+1, d] per batch row of unit vectors or zeros (undefined = none). */
  ablate?: (Float32Array | undefined)[];
  /** Per batch row, per new position: 1 where the intervention applies. Default: everywhere. */
  mask?: Uint8Array[];
}

export interface ForwardInput {
  /** [B][S] token ids of the new positions (left-pad with any id and mark them invalid). */
  tokens: number[][];
  /** [B][S]: 1 real token, 0 padding. Default: all real. */
  valid?: Uint8Array[];
  /** [B][S] position ids. Default: count of real tokens before it (HF generate's cumsum − 1). */
  positions?: number[][];
  past?: KvCache;
  intervention?: Intervention;
  /** Residual rows to fetch (0 … L). */
  captureRows?: number[];
  /** Which positions' logits to compute: all, the last of each row, or none. */
  logits: 'all' | 'last' | 'none';
}

/** Left-pads sequences of different lengths to one batch, so every row's last token is at the same position. */
export function leftPadded(seqs: number[][]): { tokens: number[][]; valid: Uint8Array[]; length: number } {
  const length = Math.max(...seqs.map((x) => x.length));
  return {
    tokens: seqs.map((x) => [...new Array(length - x.length).fill(0), ...x]),
    valid: seqs.map((x) => Uint8Array.from({ length }, (_, s) => (s >= length - x.length ? 1 : 0))),
    length,
  };
}

export interface ForwardOutput {
  /** [K, V] logits for the requested positions (row-major by batch, then position). */
  logits?: Float32Array;
  /** row → [B, S, d] */
  hidden: Map<number, Float32Array>;
  cache: KvCache;
}

export interface SessionOptions {
  threads?: number;
  /** The resolved device (resolveDevice); default cpu. */
  device?: Device;
}

export class DecoderSession {
  private readonly invFreq: Float32Array;
  /** longrope: the frequencies with the long factors (the short ones are invFreq). */
  private readonly longInvFreq?: Float32Array;
  private readonly localInvFreq?: Float32Array;
  private readonly layout: { localMask: boolean; localRope: boolean };
  /** Whether attn_bias itself carries the sliding window (every layer slides: mistral, phi3). */
  private readonly windowEverywhere: boolean;

  private constructor(readonly spec: ModelSpec, private readonly session: Ort.InferenceSession, private readonly ort: typeof Ort) {
    const rd = spec.rotaryDim ?? spec.headDim;
    this.invFreq = inverseFrequencies(rd, spec.rope);
    if (spec.rope.longrope) this.longInvFreq = inverseFrequencies(rd, spec.rope, true);
    this.layout = graphInputLayout(spec);
    if (this.layout.localRope) this.localInvFreq = inverseFrequencies(rd, spec.localRope!);
    this.windowEverywhere = !this.layout.localMask && spec.numLayers > 0 && layerIsSliding(spec, 0);
  }

  static async create(spec: ModelSpec, onnxPath: string, options: SessionOptions = {}): Promise<DecoderSession> {
    const ort = loadOnnxRuntime();
    const session = await ort.InferenceSession.create(onnxPath, {
      graphOptimizationLevel: 'all',
      intraOpNumThreads: options.threads ?? Math.max(1, os.availableParallelism()),
      interOpNumThreads: 1,
      executionMode: 'sequential',
      enableCpuMemArena: true,
      // Not yet checked on a GPU: whether every layer-loop node lands on the provider (see sessionProviders).
      ...sessionProviders(options.device ?? 'cpu'),
    });
    return new DecoderSession(spec, session, ort);
  }

  get rows(): number {
    return this.spec.numLayers + 1;
  }

  emptyCache(batch: number): KvCache {
    const { numKvHeads: kv, headDim: hd, numLayers: L } = this.spec;
    const empty = () => new this.ort.Tensor('float32', new Float32Array(0), [batch, kv, 0, hd]);
    return { keys: Array.from({ length: L }, empty), values: Array.from({ length: L }, empty), length: 0, valid: Array.from({ length: batch }, () => new Uint8Array(0)) };
  }

  async forward(input: ForwardInput): Promise<ForwardOutput> {
    const { ort, spec } = this;
    const B = input.tokens.length;
    const S = input.tokens[0]?.length ?? 0;
    if (B === 0 || S === 0 || input.tokens.some((r) => r.length !== S)) throw new RangeError('forward: tokens must be a non-empty [batch][seq] array of equal-length rows');
    const d = spec.hiddenSize;
    const R = this.rows;
    const past = input.past ?? this.emptyCache(B);
    const P = past.length;
    const T = P + S;
    const valid = input.valid ?? input.tokens.map(() => new Uint8Array(S).fill(1));

    const ids = new BigInt64Array(B * S);
    for (let b = 0; b < B; b++)
      for (let s = 0; s < S; s++) {
        const id = input.tokens[b][s];
        if (!Number.isInteger(id) || id < 0 || id >= spec.vocabSize) throw new RangeError(`token id ${id} is outside the vocabulary (0–${spec.vocabSize - 1})`);
        ids[b * S + s] = BigInt(id);
      }

    const positions = this.positionsOf(input, past, valid);
    // longrope, as HF's Phi3RotaryEmbedding: the long factors when this pass reaches past the original context
    // (max(position_ids) + 1 > original_max_position_embeddings), else the short ones; a cache already long stays so.
    const longrope = spec.rope.longrope;
    let longRope: boolean | undefined;
    if (longrope) {
      const reach = largest(positions) + 1;
      if (this.crossesLongRope(positions, past)) {
        throw new RangeError(
          `this pass reaches position ${reach}, past the model's original context of ${longrope.originalMaxPositions} tokens, where longrope switches to its long factors; the cached keys were computed with the short ones. Run the whole sequence in one pass (generate() does so at this point, as HF's Phi3ForCausalLM does).`,
        );
      }
      longRope = (P > 0 && past.longRope === true) || reach > longrope.originalMaxPositions;
    }
    const rd = spec.rotaryDim ?? spec.headDim;
    const { cos, sin } = rotaryTables(positions, longRope ? this.longInvFreq! : this.invFreq, longrope?.attentionFactor ?? 1);
    const local = this.localInvFreq ? rotaryTables(positions, this.localInvFreq) : undefined;

    // Additive mask [B,1,S,T]: causal, padding, and the sliding window (key j hidden when i − j ≥ window), the
    // window in attn_bias when every layer slides, else in attn_bias_local for the sliding layers (gemma).
    const keyValid = past.valid.map((pv, b) => {
      const all = new Uint8Array(T);
      all.set(pv, 0);
      all.set(valid[b], P);
      return all;
    });
    const bias = new Float32Array(B * S * T);
    const localBias = this.layout.localMask ? new Float32Array(B * S * T) : undefined;
    const window = spec.slidingWindow;
    for (let b = 0; b < B; b++)
      for (let s = 0; s < S; s++) {
        const i = P + s;
        for (let j = 0; j < T; j++) {
          const causal = j <= i && keyValid[b][j] === 1;
          const inWindow = window === undefined || i - j < window;
          if (!causal || (this.windowEverywhere && !inWindow)) bias[(b * S + s) * T + j] = MASKED;
          if (localBias && (!causal || !inWindow)) localBias[(b * S + s) * T + j] = MASKED;
        }
      }

    const steerAdd = new Float32Array(B * R * d);
    const ablate = new Float32Array(B * R * d);
    const steerMask = new Float32Array(B * S);
    const iv = input.intervention;
    for (let b = 0; b < B; b++) {
      const add = iv?.add?.[b];
      const dir = iv?.ablate?.[b];
      if (add) steerAdd.set(checkLength(add, R * d, 'steering vector'), b * R * d);
      if (dir) ablate.set(checkLength(dir, R * d, 'ablation direction'), b * R * d);
      for (let s = 0; s < S; s++) steerMask[b * S + s] = iv?.mask?.[b] ? iv.mask[b][s] : 1;
    }

    const logitRows: number[] = [];
    if (input.logits === 'all') for (let r = 0; r < B * S; r++) logitRows.push(r);
    else if (input.logits === 'last') for (let b = 0; b < B; b++) logitRows.push(b * S + S - 1);

    const feeds: Record<string, Ort.Tensor> = {
      input_ids: new ort.Tensor('int64', ids, [B, S]),
      rope_cos: new ort.Tensor('float32', cos, [B, S, rd / 2]),
      rope_sin: new ort.Tensor('float32', sin, [B, S, rd / 2]),
      attn_bias: new ort.Tensor('float32', bias, [B, 1, S, T]),
      steer_add: new ort.Tensor('float32', steerAdd, [B, R, d]),
      steer_mask: new ort.Tensor('float32', steerMask, [B, S, 1]),
      ablate_dir: new ort.Tensor('float32', ablate, [B, R, d]),
      logits_rows: new ort.Tensor('int64', BigInt64Array.from(logitRows.map(BigInt)), [logitRows.length]),
    };
    if (localBias) feeds.attn_bias_local = new ort.Tensor('float32', localBias, [B, 1, S, T]);
    if (local) {
      feeds.rope_cos_local = new ort.Tensor('float32', local.cos, [B, S, rd / 2]);
      feeds.rope_sin_local = new ort.Tensor('float32', local.sin, [B, S, rd / 2]);
    }
    for (let l = 0; l < spec.numLayers; l++) {
      feeds[`past_key_${l}`] = past.keys[l];
      feeds[`past_value_${l}`] = past.values[l];
    }
    const captureRows = [...new Set(input.captureRows ?? [])];
    for (const r of captureRows) if (!Number.isInteger(r) || r < 0 || r >= R) throw new RangeError(`hidden-state row ${r} is outside 0–${R - 1}`);
    const fetches = [
      ...(logitRows.length > 0 ? ['logits'] : []),
      ...captureRows.map((r) => `hidden_${r}`),
      ...Array.from({ length: spec.numLayers }, (_, l) => [`present_key_${l}`, `present_value_${l}`]).flat(),
    ];
    const out = await this.session.run(feeds, fetches);
    const hidden = new Map<number, Float32Array>();
    for (const r of captureRows) hidden.set(r, assertFinite(out[`hidden_${r}`].data as Float32Array, `hidden-state row ${r}`, steerAdd));
    return {
      logits: logitRows.length > 0 ? assertFinite(out.logits.data as Float32Array, 'the logits', steerAdd) : undefined,
      hidden,
      cache: {
        keys: Array.from({ length: spec.numLayers }, (_, l) => out[`present_key_${l}`]),
        values: Array.from({ length: spec.numLayers }, (_, l) => out[`present_value_${l}`]),
        length: T,
        valid: keyValid,
        ...(longRope === undefined ? {} : { longRope }),
      },
    };
  }

  /**
   * longrope: whether a pass over `input` would cross into the long factors on a cache rotated with the short ones.
   * Such a pass cannot be computed from the cache (HF never mixes them either: see generate.ts); the caller runs the
   * whole sequence again in one pass instead.
   */
  needsRecompute(input: Pick<ForwardInput, 'tokens' | 'valid' | 'positions' | 'past'>): boolean {
    if (!this.spec.rope.longrope || !input.past) return false;
    const valid = input.valid ?? input.tokens.map((row) => new Uint8Array(row.length).fill(1));
    return this.crossesLongRope(this.positionsOf(input, input.past, valid), input.past);
  }

  private crossesLongRope(positions: Float64Array, past: KvCache): boolean {
    const longrope = this.spec.rope.longrope;
    if (!longrope || past.length === 0 || past.longRope !== false) return false;
    return largest(positions) + 1 > longrope.originalMaxPositions;
  }

  /** Position ids [B·S]: as given, else as HF generate counts real tokens (cumsum of the attention mask − 1). */
  private positionsOf(input: Pick<ForwardInput, 'tokens' | 'positions'>, past: KvCache, valid: Uint8Array[]): Float64Array {
    const B = input.tokens.length;
    const S = input.tokens[0]?.length ?? 0;
    const positions = new Float64Array(B * S);
    for (let b = 0; b < B; b++) {
      let count = 0;
      for (let j = 0; j < past.length; j++) count += past.valid[b][j];
      for (let s = 0; s < S; s++) {
        positions[b * S + s] = input.positions ? input.positions[b][s] : valid[b][s] ? count : Math.max(count - 1, 0);
        count += valid[b][s];
      }
    }
    return positions;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

function largest(values: Float64Array): number {
  let max = -1;
  for (const v of values) max = Math.max(max, v);
  return max;
}

/**
 * RMSNorm squares the residual stream: a value past ~1e18 makes mean(x²) overflow float32 to Inf, and the norm then
 * returns zeros — finite garbage (every token id 0) instead of an error. Steering inputs that large are refused.
 */
const MAX_STEER_VALUE = 1e18;

function checkLength(v: Float32Array, n: number, what: string): Float32Array {
  if (v.length !== n) throw new RangeError(`${what} has ${v.length} values; this model needs [layers+1, d] = ${n}`);
  let largest = 0;
  for (const x of v) {
    if (!Number.isFinite(x)) throw new RangeError(`${what} holds NaN or Inf values: nothing can be steered with it`);
    largest = Math.max(largest, Math.abs(x));
  }
  if (largest > MAX_STEER_VALUE) throw new NonFiniteActivationError(`${what} reaches |α·v| = ${largest.toExponential(2)}, which overflows float32 in the model's norms (NaN or Inf activations): lower the coefficient`);
  return v;
}

/** A forward pass that overflowed float32: an error, never an empty answer or a NaN score. */
export class NonFiniteActivationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NonFiniteActivationError';
  }
}

function assertFinite(values: Float32Array, what: string, steerAdd: Float32Array): Float32Array {
  for (let i = 0; i < values.length; i++) {
    if (Number.isFinite(values[i])) continue;
    let steer = 0;
    for (let j = 0; j < steerAdd.length; j++) steer = Math.max(steer, Math.abs(steerAdd[j]));
    const cause = steer > 0 ? `the steering input reaches |α·v| = ${steer.toExponential(2)}: lower the coefficient` : 'the weights overflow float32 or hold NaN/Inf: check the checkpoint';
    throw new NonFiniteActivationError(`the forward pass produced NaN or Inf in ${what}; ${cause}`);
  }
  return values;
}
