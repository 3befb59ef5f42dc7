/**
 * An independent reference forward pass for llama / mistral / qwen2 / qwen3 / gemma2 / gemma3 / phi3, written from
 * HF transformers' modeling code (modeling_llama / _gemma2 / _gemma3 / _phi3, modeling_rope_utils) with plain
 * float64 loops: no ONNX, no shared code with the engine's graph. Tests compare the engine's hidden states and
 * logits with it.
 */
export interface RefConfig {
  hidden: number;
  intermediate: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  vocab: number;
  eps: number;
  theta: number;
  qkvBias: boolean;
  oBias: boolean;
  qkNorm: boolean;
  tied: boolean;
  slidingWindow?: number;
  llama3?: { factor: number; low: number; high: number; original: number };
  /** Per layer: true where slidingWindow applies (gemma). Default: every layer when slidingWindow is set. */
  slidingLayers?: boolean[];
  /** gemma: embeddings × this (HF's normalizer, already rounded to the weights' dtype). */
  embedScale?: number;
  /** gemma: RMSNorm x̂·(1 + w). */
  normPlusOne?: boolean;
  /** gemma: post-attention / pre-feedforward / post-feedforward norms. */
  sandwich?: boolean;
  /** gemma: gelu_pytorch_tanh instead of SiLU. */
  gelu?: boolean;
  /** gemma: query_pre_attn_scalar (scale = its −½ power). */
  queryPreAttnScalar?: number;
  attnSoftcap?: number;
  finalSoftcap?: number;
  /** gemma3: the sliding layers' RoPE base (plain RoPE); the full layers use theta (with linearFactor). */
  localTheta?: number;
  /** gemma3 'linear' rope_scaling of the full layers. */
  linearFactor?: number;
  /** phi3: fused qkv_proj / gate_up_proj. */
  fused?: boolean;
  /** phi3 partial_rotary_factor: int(headDim · factor) dimensions rotate. */
  partialRotary?: number;
  /** phi3 longrope: factors chosen by the sequence length vs original; attention factor from max / original. */
  longrope?: { short: number[]; long: number[]; original: number; maxPositions: number };
}

export type RefWeights = Map<string, Float64Array>;

export interface RefSteer {
  /** Row r gets coefficient·vector added after block r (row 0: embeddings). */
  row: number;
  vector: Float64Array;
  coefficient: number;
  /** 'ablate': h −= (h·v̂)v̂ at that row instead (vector a unit direction; coefficient ignored). */
  mode?: 'add' | 'ablate';
}

export interface RefOutput {
  /** hidden[r][s*d + i] */
  hidden: Float64Array[];
  /** logits[s*V + v] */
  logits: Float64Array;
}

export function referenceForward(cfg: RefConfig, w: RefWeights, tokens: number[], steer?: RefSteer, positionOffset = 0): RefOutput {
  const S = tokens.length;
  const d = cfg.hidden;
  const hd = cfg.headDim;
  const get = (n: string): Float64Array => {
    const t = w.get(n);
    if (!t) throw new Error(`reference: missing ${n}`);
    return t;
  };
  // x [S, in] times W [out, in]ᵀ
  const linear = (x: Float64Array, inDim: number, name: string, outDim: number, bias: boolean): Float64Array => {
    const W = get(`${name}.weight`);
    const b = bias ? get(`${name}.bias`) : undefined;
    const y = new Float64Array(S * outDim);
    for (let s = 0; s < S; s++)
      for (let o = 0; o < outDim; o++) {
        let acc = b ? b[o] : 0;
        for (let i = 0; i < inDim; i++) acc += x[s * inDim + i] * W[o * inDim + i];
        y[s * outDim + o] = acc;
      }
    return y;
  };
  const rms = (x: Float64Array, width: number, weight: Float64Array): Float64Array => {
    const y = new Float64Array(x.length);
    for (let r = 0; r < x.length / width; r++) {
      let ss = 0;
      for (let i = 0; i < width; i++) ss += x[r * width + i] ** 2;
      const inv = 1 / Math.sqrt(ss / width + cfg.eps);
      // Gemma2RMSNorm / Gemma3RMSNorm: output * (1.0 + weight).
      for (let i = 0; i < width; i++) y[r * width + i] = x[r * width + i] * inv * (cfg.normPlusOne ? 1 + weight[i] : weight[i]);
    }
    return y;
  };
  const applySteer = (h: Float64Array, row: number): void => {
    if (!steer || steer.row !== row) return;
    if (steer.mode === 'ablate') {
      for (let s = 0; s < S; s++) {
        let along = 0;
        for (let i = 0; i < d; i++) along += h[s * d + i] * steer.vector[i];
        for (let i = 0; i < d; i++) h[s * d + i] -= along * steer.vector[i];
      }
      return;
    }
    for (let s = 0; s < S; s++) for (let i = 0; i < d; i++) h[s * d + i] += steer.coefficient * steer.vector[i];
  };

  // inv_freq as HF: 1 / theta^(2i/dim) over the rotary dims (dim = int(hd · partial_rotary_factor)), then scaling.
  const rotary = cfg.partialRotary ? Math.floor(hd * cfg.partialRotary) : hd;
  const half = rotary / 2;
  const inv = new Float64Array(half);
  for (let i = 0; i < half; i++) inv[i] = 1 / Math.pow(cfg.theta, (2 * i) / rotary);
  if (cfg.linearFactor) for (let i = 0; i < half; i++) inv[i] /= cfg.linearFactor;
  let ropeScale = 1;
  if (cfg.longrope) {
    // _compute_longrope_parameters + longrope_frequency_update: long factors when max(position_ids) + 1 > original.
    const { short, long, original, maxPositions } = cfg.longrope;
    const ext = S + positionOffset > original ? long : short;
    for (let i = 0; i < half; i++) inv[i] = 1 / (ext[i] * Math.pow(cfg.theta, (2 * i) / rotary));
    const factor = maxPositions / original;
    ropeScale = factor <= 1 ? 1 : Math.sqrt(1 + Math.log(factor) / Math.log(original));
  }
  const localInv = new Float64Array(half);
  if (cfg.localTheta !== undefined) for (let i = 0; i < half; i++) localInv[i] = 1 / Math.pow(cfg.localTheta, (2 * i) / rotary);
  if (cfg.llama3) {
    const { factor, low, high, original } = cfg.llama3;
    for (let i = 0; i < half; i++) {
      const wavelen = (2 * Math.PI) / inv[i];
      if (wavelen < original / high) continue; // high frequency: unchanged
      if (wavelen > original / low) {
        inv[i] = inv[i] / factor; // low frequency: scaled
        continue;
      }
      const smooth = (original / wavelen - low) / (high - low);
      inv[i] = (1 - smooth) * (inv[i] / factor) + smooth * inv[i];
    }
  }
  const ropeInPlace = (x: Float64Array, heads: number, freqs = inv): void => {
    for (let s = 0; s < S; s++) {
      const pos = s + positionOffset;
      for (let h = 0; h < heads; h++) {
        // Only the first `rotary` dims of a head turn (q_rot / q_pass); rotate_half works within them.
        const base = (s * heads + h) * hd;
        for (let i = 0; i < half; i++) {
          const a = pos * freqs[i];
          const c = Math.cos(a) * (freqs === inv ? ropeScale : 1);
          const sn = Math.sin(a) * (freqs === inv ? ropeScale : 1);
          const x1 = x[base + i];
          const x2 = x[base + half + i];
          x[base + i] = x1 * c - x2 * sn;
          x[base + half + i] = x2 * c + x1 * sn;
        }
      }
    }
  };

  const embed = get('model.embed_tokens.weight');
  let h = new Float64Array(S * d);
  for (let s = 0; s < S; s++) for (let i = 0; i < d; i++) h[s * d + i] = embed[tokens[s] * d + i] * (cfg.embedScale ?? 1);
  applySteer(h, 0);
  const hidden: Float64Array[] = [h.slice()];
  const nRep = cfg.heads / cfg.kvHeads;

  for (let l = 0; l < cfg.layers; l++) {
    const p = `model.layers.${l}`;
    const sliding = cfg.slidingWindow !== undefined && (cfg.slidingLayers ? cfg.slidingLayers[l] : true);
    const x = rms(h, d, get(`${p}.input_layernorm.weight`));
    let q: Float64Array, k: Float64Array, v: Float64Array;
    if (cfg.fused) {
      // Phi3Attention: qkv[..., :H·hd], then KV·hd, then the rest.
      const qkv = linear(x, d, `${p}.self_attn.qkv_proj`, (cfg.heads + 2 * cfg.kvHeads) * hd, false);
      const width = (cfg.heads + 2 * cfg.kvHeads) * hd;
      q = new Float64Array(S * cfg.heads * hd);
      k = new Float64Array(S * cfg.kvHeads * hd);
      v = new Float64Array(S * cfg.kvHeads * hd);
      for (let s = 0; s < S; s++) {
        const row = qkv.subarray(s * width, (s + 1) * width);
        q.set(row.subarray(0, cfg.heads * hd), s * cfg.heads * hd);
        k.set(row.subarray(cfg.heads * hd, (cfg.heads + cfg.kvHeads) * hd), s * cfg.kvHeads * hd);
        v.set(row.subarray((cfg.heads + cfg.kvHeads) * hd), s * cfg.kvHeads * hd);
      }
    } else {
      q = linear(x, d, `${p}.self_attn.q_proj`, cfg.heads * hd, cfg.qkvBias);
      k = linear(x, d, `${p}.self_attn.k_proj`, cfg.kvHeads * hd, cfg.qkvBias);
      v = linear(x, d, `${p}.self_attn.v_proj`, cfg.kvHeads * hd, cfg.qkvBias);
    }
    if (cfg.qkNorm) {
      q = rms(q, hd, get(`${p}.self_attn.q_norm.weight`));
      k = rms(k, hd, get(`${p}.self_attn.k_norm.weight`));
    }
    // Gemma3: sliding layers take position_embeddings_local (rope_local_base_freq, no scaling).
    const freqs = sliding && cfg.localTheta !== undefined ? localInv : inv;
    ropeInPlace(q, cfg.heads, freqs);
    ropeInPlace(k, cfg.kvHeads, freqs);
    const attn = new Float64Array(S * cfg.heads * hd);
    const scale = cfg.queryPreAttnScalar !== undefined ? Math.pow(cfg.queryPreAttnScalar, -0.5) : 1 / Math.sqrt(hd);
    for (let head = 0; head < cfg.heads; head++) {
      const kvh = Math.floor(head / nRep);
      for (let i = 0; i < S; i++) {
        const scores: number[] = [];
        for (let j = 0; j < S; j++) {
          const masked = j > i || (sliding && i - j >= cfg.slidingWindow!);
          if (masked) {
            scores.push(-Infinity);
            continue;
          }
          let dot = 0;
          for (let e = 0; e < hd; e++) dot += q[(i * cfg.heads + head) * hd + e] * k[(j * cfg.kvHeads + kvh) * hd + e];
          // Gemma2 eager attention: soft-cap (tanh(x / cap) · cap) after scaling, before the mask.
          scores.push(cfg.attnSoftcap ? Math.tanh((dot * scale) / cfg.attnSoftcap) * cfg.attnSoftcap : dot * scale);
        }
        const max = Math.max(...scores);
        const exps = scores.map((s) => Math.exp(s - max));
        const sum = exps.reduce((a, b) => a + b, 0);
        for (let j = 0; j < S; j++) {
          const pj = exps[j] / sum;
          if (pj === 0) continue;
          for (let e = 0; e < hd; e++) attn[(i * cfg.heads + head) * hd + e] += pj * v[(j * cfg.kvHeads + kvh) * hd + e];
        }
      }
    }
    let o = linear(attn, cfg.heads * hd, `${p}.self_attn.o_proj`, d, cfg.oBias);
    if (cfg.sandwich) o = rms(o, d, get(`${p}.post_attention_layernorm.weight`));
    for (let i = 0; i < h.length; i++) h[i] += o[i];
    const y = rms(h, d, get(cfg.sandwich ? `${p}.pre_feedforward_layernorm.weight` : `${p}.post_attention_layernorm.weight`));
    const F = cfg.intermediate;
    let gate: Float64Array, up: Float64Array;
    if (cfg.fused) {
      // Phi3MLP: gate, up_states = gate_up_proj(x).chunk(2, dim=-1).
      const both = linear(y, d, `${p}.mlp.gate_up_proj`, 2 * F, false);
      gate = new Float64Array(S * F);
      up = new Float64Array(S * F);
      for (let s = 0; s < S; s++) {
        gate.set(both.subarray(s * 2 * F, s * 2 * F + F), s * F);
        up.set(both.subarray(s * 2 * F + F, (s + 1) * 2 * F), s * F);
      }
    } else {
      gate = linear(y, d, `${p}.mlp.gate_proj`, F, false);
      up = linear(y, d, `${p}.mlp.up_proj`, F, false);
    }
    const act = new Float64Array(gate.length);
    for (let i = 0; i < act.length; i++) {
      const g = gate[i];
      // gelu_pytorch_tanh: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))); SiLU: x·σ(x).
      const a = cfg.gelu ? 0.5 * g * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (g + 0.044715 * g * g * g))) : g / (1 + Math.exp(-g));
      act[i] = a * up[i];
    }
    let down = linear(act, cfg.intermediate, `${p}.mlp.down_proj`, d, false);
    if (cfg.sandwich) down = rms(down, d, get(`${p}.post_feedforward_layernorm.weight`));
    h = h.slice();
    for (let i = 0; i < h.length; i++) h[i] += down[i];
    applySteer(h, l + 1);
    if (l < cfg.layers - 1) hidden.push(h.slice());
  }
  const final = rms(h, d, get('model.norm.weight'));
  hidden.push(final);
  const head = cfg.tied && !w.has('lm_head.weight') ? embed : get('lm_head.weight');
  const logits = new Float64Array(S * cfg.vocab);
  for (let s = 0; s < S; s++)
    for (let vv = 0; vv < cfg.vocab; vv++) {
      let acc = 0;
      for (let i = 0; i < d; i++) acc += final[s * d + i] * head[vv * d + i];
      logits[s * cfg.vocab + vv] = cfg.finalSoftcap ? Math.tanh(acc / cfg.finalSoftcap) * cfg.finalSoftcap : acc;
    }
  return { hidden, logits };
}
