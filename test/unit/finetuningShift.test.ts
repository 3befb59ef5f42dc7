/** Finetuning shift arithmetic: (tuned − base) · v̂ per row, the random-direction control, and shape checks. */
import assert from 'node:assert/strict';
import { compareProfiles, type ModelProfile, type ShiftTrait } from '../../src/core/finetuning/finetuningShift';
import { BUILTIN_TRAITS } from '../../src/core/traits/builtinTraits';
import type { TraitVector } from '../../src/core/vectors/traitVector';

const ROWS = 3;
const D = 64;
const trait = BUILTIN_TRAITS[0];
const direction = (r: number) => Float32Array.from({ length: D }, (_, i) => (i === r ? 2 : 0));
const vector: TraitVector = { name: trait.name, layer: 2, direction: direction(2), atRow: direction, file: 'v.safetensors' };
const shiftTrait: ShiftTrait = { vector, trait };

function profile(label: string, mean: (r: number, i: number) => number, rows = ROWS): ModelProfile {
  const m = new Float64Array(rows * D);
  for (let r = 0; r < rows; r++) for (let i = 0; i < D; i++) m[r * D + i] = mean(r, i);
  return { model: label, rows, d: D, traits: [{ name: trait.name, meanLastPrompt: m, scores: { trait: label === 'base' ? 5 : 60, coherence: 90, samples: [] } }] };
}

describe('finetuning shift arithmetic', () => {
  const base = profile('base', (r, i) => Math.cos(r + i));

  it('a move along v shows as its length on v̂ at every row; a random direction sees ≈ |Δ|/√d', () => {
    const tuned = profile('tuned', (r, i) => Math.cos(r + i) + (i === r ? 4 : 0));
    const [s] = compareProfiles(base, tuned, [shiftTrait]);
    assert.equal(s.layer, 2);
    assert.ok(Math.abs(s.shift - 4) < 1e-9);
    s.perLayer.forEach((x) => assert.ok(Math.abs(x - 4) < 1e-9));
    assert.ok(s.randomShift > 0.2 && s.randomShift < 1.2, `random RMS ${s.randomShift} should be near 4/√64 = 0.5`);
    assert.ok(Math.abs(s.activationChange - 4) < 1e-9);
    assert.deepEqual(s.base, { trait: 5, coherence: 90 });
    assert.deepEqual(s.tuned, { trait: 60, coherence: 90 });
  });

  it('a move against v is negative; an orthogonal move is 0', () => {
    assert.ok(compareProfiles(base, profile('tuned', (r, i) => Math.cos(r + i) - (i === r ? 1 : 0)), [shiftTrait])[0].shift < 0);
    assert.equal(compareProfiles(base, profile('tuned', (r, i) => Math.cos(r + i) + (i === 40 ? 3 : 0)), [shiftTrait])[0].shift, 0);
  });

  it('refuses models of different shapes', () => {
    assert.throws(() => compareProfiles(base, profile('other', () => 0, ROWS + 1), [shiftTrait]), /differ in shape/);
  });
});
