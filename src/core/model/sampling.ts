/** Next-token choice: greedy, or seeded temperature / top-p (nucleus) sampling. */
export interface SamplingOptions {
  /** 0 (default) = greedy. */
  temperature?: number;
  /** Nucleus mass, (0, 1]; default 1. */
  topP?: number;
  seed?: number;
}

/** mulberry32: small, fast, deterministic for a seed. */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function argmax(logits: Float32Array, offset = 0, length = logits.length): number {
  let best = 0;
  let bestValue = -Infinity;
  for (let i = 0; i < length; i++) {
    const v = logits[offset + i];
    if (v > bestValue) {
      bestValue = v;
      best = i;
    }
  }
  return best;
}

/**
 * Seeded temperature / top-p sampling. Tokens are taken in descending probability (ties: lower id first), the
 * nucleus is the shortest such prefix whose mass reaches `topP`, and the draw walks it. Sorting the whole vocabulary
 * for every sampled token cost ~50–100 ms per row at 152 k ids (more than a 0.5B model's decode step), so the
 * descending order is produced a band of probabilities at a time (`descendingBands`): a peaked distribution needs
 * one or two bands of a few tokens. With topP = 1 the nucleus is every token and its mass is the plain sum.
 */
export function sampleToken(logits: Float32Array, offset: number, vocab: number, options: SamplingOptions, random: () => number): number {
  const temperature = options.temperature ?? 0;
  if (temperature <= 0) return argmax(logits, offset, vocab);
  const topP = options.topP ?? 1;
  let max = -Infinity;
  for (let i = 0; i < vocab; i++) max = Math.max(max, logits[offset + i]);
  const probs = new Float64Array(vocab);
  let sum = 0;
  for (let i = 0; i < vocab; i++) {
    probs[i] = Math.exp((logits[offset + i] - max) / temperature);
    sum += probs[i];
  }
  // A NaN or infinite logit makes every probability NaN (through the max); no token can then be drawn.
  if (!Number.isFinite(sum) || sum <= 0) throw new RangeError(`cannot sample the next token: the model's logits are not finite numbers (NaN or ±Infinity among ${vocab})`);
  let mass = sum;
  let kept = vocab;
  if (topP < 1) {
    // The nucleus: the shortest descending prefix whose mass reaches topP (HF keeps at least one token).
    mass = 0;
    kept = 0;
    for (const band of descendingBands(probs)) {
      for (const i of band) {
        mass += probs[i];
        kept++;
        if (mass >= topP * sum) break;
      }
      if (mass >= topP * sum) break;
    }
  }
  let r = random() * mass;
  let walked = 0;
  let last = 0;
  for (const band of descendingBands(probs)) {
    for (const i of band) {
      if (walked++ === kept) return last;
      last = i;
      r -= probs[i];
      if (r <= 0) return i;
    }
  }
  return last;
}

/**
 * Token ids in descending probability (ties by id), one band at a time: the ids with p within a factor of 16 of the
 * largest p not yet given, each band sorted, so the concatenation is the full stable descending order.
 */
function* descendingBands(probs: Float64Array): Generator<number[]> {
  let bandTop = 0;
  for (let i = 0; i < probs.length; i++) if (probs[i] > bandTop) bandTop = probs[i];
  let upper = Infinity;
  let seen = 0;
  while (seen < probs.length) {
    const lower = bandTop / 16; // 0 once only zeros (or subnormals) are left: the band takes the rest
    const band: number[] = [];
    let nextTop = 0;
    for (let i = 0; i < probs.length; i++) {
      const p = probs[i];
      if (p >= upper) continue;
      if (p >= lower) band.push(i);
      else if (p > nextTop) nextTop = p;
    }
    // Only NaN is in no band (every number is below some band's top): stop rather than loop without end.
    if (!band.length) return;
    band.sort((a, b) => probs[b] - probs[a] || a - b);
    seen += band.length;
    yield band;
    upper = lower;
    bandTop = nextTop;
  }
}
