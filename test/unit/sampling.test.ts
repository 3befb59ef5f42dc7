/**
 * Sampling picks the same token as a full descending sort of the vocabulary would (the previous implementation,
 * kept here as the reference), ties and top-p included, while producing the order a band at a time.
 */
import assert from 'node:assert/strict';
import { sampleToken, seededRandom } from '../../src/core/model/sampling';

function fullSortReference(logits: Float32Array, vocab: number, temperature: number, topP: number, random: () => number): number {
  let max = -Infinity;
  for (let i = 0; i < vocab; i++) max = Math.max(max, logits[i]);
  const probs = new Float64Array(vocab);
  let sum = 0;
  for (let i = 0; i < vocab; i++) sum += (probs[i] = Math.exp((logits[i] - max) / temperature));
  const order = Array.from({ length: vocab }, (_, i) => i).sort((a, b) => probs[b] - probs[a]);
  let kept = 0;
  let mass = 0;
  while (kept < vocab && (kept === 0 || mass < topP * sum)) mass += probs[order[kept++]];
  let r = random() * mass;
  for (let k = 0; k < kept; k++) if ((r -= probs[order[k]]) <= 0) return order[k];
  return order[kept - 1];
}

describe('sampling', () => {
  it('draws the token a full sort would, over vocabularies, spreads, temperatures and top-p (ties included)', () => {
    const g = seededRandom(42);
    let draws = 0;
    const picked = new Set<number>();
    for (const vocab of [1, 7, 100, 5000, 30000])
      for (const spread of [0.5, 4, 20])
        for (const topP of [1, 0.9, 0.5, 1e-9])
          for (const temperature of [0.7, 1])
            for (let t = 0; t < 12; t++) {
              // Logits rounded to 1/8 so that equal probabilities (ties) occur.
              const logits = Float32Array.from({ length: vocab }, () => Math.round((g() - 0.5) * spread * 8) / 8);
              const seed = Math.floor(g() * 1e9);
              const ours = sampleToken(logits, 0, vocab, { temperature, topP }, seededRandom(seed));
              assert.equal(ours, fullSortReference(logits, vocab, temperature, topP, seededRandom(seed)), `vocab ${vocab}, spread ${spread}, topP ${topP}, T ${temperature}`);
              picked.add(ours);
              draws++;
            }
    assert.ok(draws > 1000 && picked.size > 100, 'the draws cover many different tokens');
  });

  it('reads its row of a batch (offset) and is greedy at temperature 0', () => {
    const logits = Float32Array.from([0, 9, 0, /* row 1 */ 0, 0, 9]);
    assert.equal(sampleToken(logits, 3, 3, { temperature: 0 }, seededRandom(1)), 2);
    assert.equal(sampleToken(logits, 3, 3, { temperature: 0.01 }, seededRandom(1)), 2);
  });

  it('refuses non-finite logits with a message instead of looping', () => {
    for (const bad of [NaN, Infinity]) {
      const logits = Float32Array.from([0.5, bad, -1, 2]);
      for (const topP of [1, 0.9]) assert.throws(() => sampleToken(logits, 0, 4, { temperature: 1, topP }, seededRandom(1)), /logits are not finite numbers/);
    }
    assert.throws(() => sampleToken(new Float32Array(4).fill(-Infinity), 0, 4, { temperature: 1 }, seededRandom(1)), /not finite/);
  });
});
