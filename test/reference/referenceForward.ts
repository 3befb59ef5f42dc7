/**
 * An independent reference forward pass for llama / mistral / qwen2 / qwen3, written from HF transformers'
 * modeling code with plain float64 loops: no ONNX, no shared code with the engine's graph. Tests compare the
 * engine's hidden states and logits with it.
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
}

export type RefWeights = Map<string, Float64Array>;

export interface RefSteer {
  /** Row r gets coefficient·vector added after block r (row 0: embeddings). */
  row: number;
  vector: Float64Array;
  coefficient: number;
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
      for (let i = 0; i < width; i++) y[r * width + i] = x[r * width + i] * inv * weight[i];
    }
    return y;
  };
  const applySteer = (h: Float64Array, row: number): void => {
    if (!steer || steer.row !== row) return;
    for (let s = 0; s < S; s++) for (let i = 0; i < d; i++) h[s * d + i] += steer.coefficient * steer.vector[i];
  };

  // inv_freq as HF: 1 / theta^(2i/hd), then llama3 scaling.
  const half = hd / 2;
  const inv = new Float64Array(half);
  for (let i = 0; i < half; i++) inv[i] = 1 / Math.pow(cfg.theta, (2 * i) / hd);
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
  const ropeInPlace = (x: Float64Array, heads: number): void => {
    for (let s = 0; s < S; s++) {
      const pos = s + positionOffset;
      for (let h = 0; h < heads; h++) {
        const base = (s * heads + h) * hd;
        for (let i = 0; i < half; i++) {
          const a = pos * inv[i];
          const c = Math.cos(a);
          const sn = Math.sin(a);
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
  for (let s = 0; s < S; s++) for (let i = 0; i < d; i++) h[s * d + i] = embed[tokens[s] * d + i];
  applySteer(h, 0);
  const hidden: Float64Array[] = [h.slice()];
  const nRep = cfg.heads / cfg.kvHeads;

  for (let l = 0; l < cfg.layers; l++) {
    const p = `model.layers.${l}`;
    const x = rms(h, d, get(`${p}.input_layernorm.weight`));
    let q = linear(x, d, `${p}.self_attn.q_proj`, cfg.heads * hd, cfg.qkvBias);
    let k = linear(x, d, `${p}.self_attn.k_proj`, cfg.kvHeads * hd, cfg.qkvBias);
    const v = linear(x, d, `${p}.self_attn.v_proj`, cfg.kvHeads * hd, cfg.qkvBias);
    if (cfg.qkNorm) {
      q = rms(q, hd, get(`${p}.self_attn.q_norm.weight`));
      k = rms(k, hd, get(`${p}.self_attn.k_norm.weight`));
    }
    ropeInPlace(q, cfg.heads);
    ropeInPlace(k, cfg.kvHeads);
    const attn = new Float64Array(S * cfg.heads * hd);
    const scale = 1 / Math.sqrt(hd);
    for (let head = 0; head < cfg.heads; head++) {
      const kvh = Math.floor(head / nRep);
      for (let i = 0; i < S; i++) {
        const scores: number[] = [];
        for (let j = 0; j < S; j++) {
          const masked = j > i || (cfg.slidingWindow !== undefined && i - j >= cfg.slidingWindow);
          if (masked) {
            scores.push(-Infinity);
            continue;
          }
          let dot = 0;
          for (let e = 0; e < hd; e++) dot += q[(i * cfg.heads + head) * hd + e] * k[(j * cfg.kvHeads + kvh) * hd + e];
          scores.push(dot * scale);
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
    const o = linear(attn, cfg.heads * hd, `${p}.self_attn.o_proj`, d, cfg.oBias);
    for (let i = 0; i < h.length; i++) h[i] += o[i];
    const y = rms(h, d, get(`${p}.post_attention_layernorm.weight`));
    const gate = linear(y, d, `${p}.mlp.gate_proj`, cfg.intermediate, false);
    const up = linear(y, d, `${p}.mlp.up_proj`, cfg.intermediate, false);
    const act = new Float64Array(gate.length);
    for (let i = 0; i < act.length; i++) act[i] = (gate[i] / (1 + Math.exp(-gate[i]))) * up[i];
    const down = linear(act, cfg.intermediate, `${p}.mlp.down_proj`, d, false);
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
      logits[s * cfg.vocab + vv] = acc;
    }
  return { hidden, logits };
}
