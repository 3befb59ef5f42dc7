/**
 * Gemma 2, Gemma 3 and Phi-3 / Phi-4 (issue 17): random checkpoints against the independent reference forward pass
 * (test/reference/referenceForward.ts, written from HF's modeling_gemma2 / _gemma3 / _phi3), every hidden row and
 * the logits to ≤ 1e-4, full prefill and token by token with the KV cache, with and without steering and ablation,
 * sequences longer than the sliding window. The worst |Δ| per architecture is printed.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeRandomCheckpoint, seededNormal, type RandomCheckpoint, type RandomCheckpointOptions } from '../helpers/randomCheckpoint';
import { referenceForward, type RefSteer } from '../reference/referenceForward';
import { openCheckpoint } from '../../src/core/model/checkpoint';
import { prepareModelFiles } from '../../src/core/model/weightStore';
import { DecoderSession, type KvCache } from '../../src/core/model/decoderSession';
import { buildRowIntervention } from '../../src/core/model/steering';
import type { WeightPrecision } from '../../src/core/model/weightPrecision';
import { generate } from '../../src/core/model/generate';
import { Tokenizer } from '../../src/core/model/tokenizer';

const TOLERANCE = 1e-4;
const cacheRoot = mkdtempSync(path.join(os.tmpdir(), 'persona-lens-cache-'));
const TOKENS = [9707, 11, 1879, 0, 128000, 42, 7, 13, 2000, 31, 5, 77];
const allRows = (L: number) => Array.from({ length: L + 1 }, (_, i) => i);
const worst = new Map<string, number>();

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'lengths differ');
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Asserts ≤ TOLERANCE and keeps the worst difference per case. */
function close(name: string, what: string, a: ArrayLike<number>, b: ArrayLike<number>): void {
  const diff = maxAbsDiff(a, b);
  worst.set(name, Math.max(worst.get(name) ?? 0, diff));
  assert.ok(diff <= TOLERANCE, `${what}: |Δ| = ${diff}`);
}

async function open(options: RandomCheckpointOptions, precision: WeightPrecision = 'f32'): Promise<{ rc: RandomCheckpoint; session: DecoderSession }> {
  const rc = writeRandomCheckpoint(options);
  const ckpt = openCheckpoint(rc.dir);
  const prepared = prepareModelFiles(ckpt, cacheRoot, undefined, precision);
  return { rc, session: await DecoderSession.create(ckpt.spec, prepared.onnxPath, { threads: 1 }) };
}

const gemma2 = { architecture: 'gemma2', headDim: 16, layers: 3, tied: true, slidingWindow: 4 } as const;
const gemma3 = { architecture: 'gemma3', headDim: 16, layers: 4, tied: true, slidingWindow: 4, slidingWindowPattern: 3, linearRope: 8 } as const;
const phi4mini = { architecture: 'phi3', headDim: 16, kvHeads: 2, tied: true, partialRotary: 0.75, longrope: { original: 6, max: 48 }, slidingWindow: 5 } as const;

/** name, options, how many tokens the first KV-cache step takes (longrope: past the original context at once). */
const CASES: [string, RandomCheckpointOptions, number][] = [
  ['gemma2 (sandwich norms, GeGLU, soft-caps 50/30, alternating window 4, tied)', { ...gemma2 }, 1],
  ['gemma2 BF16, strong soft-caps (attention 1.5, final 3)', { ...gemma2, dtype: 'BF16', attnSoftcap: 1.5, finalSoftcap: 3 }, 1],
  ['gemma3 (q/k (1+w) norms, 2 sliding : 1 full, local/global RoPE, linear ×8)', { ...gemma3 }, 1],
  ['gemma3 BF16 (√d rounded to bfloat16), untied', { ...gemma3, dtype: 'BF16', tied: false }, 1],
  ['gemma3 vision checkpoint, language_model.model.* names', { ...gemma3, visionPrefix: 'language_model.model.' }, 1],
  ['gemma3 vision checkpoint BF16, model.language_model.* names', { ...gemma3, dtype: 'BF16', visionPrefix: 'model.language_model.' }, 1],
  ['phi3 (fused qkv / gate_up, window 4 on every layer, MHA)', { architecture: 'phi3', kvHeads: 4, slidingWindow: 4 }, 1],
  ['phi3 BF16 (GQA, no window)', { architecture: 'phi3', dtype: 'BF16' }, 1],
  ['phi3 Phi-4-mini style (partial rotary 0.75, longrope long regime, window 5, tied)', { ...phi4mini }, 7],
  ['phi3 Phi-4-mini style BF16 (longrope long regime)', { ...phi4mini, dtype: 'BF16', seed: 3 }, 7],
];

after(() => {
  rmSync(cacheRoot, { recursive: true, force: true });
  const lines = [...worst].map(([name, diff]) => `    ${diff.toExponential(2)}  ${name}`);
  if (lines.length) console.log(`  worst |Δ| vs the reference (all rows, logits):\n${lines.join('\n')}`);
});

describe('gemma2 / gemma3 / phi3 decoder vs independent reference forward (max abs error ≤ 1e-4)', function () {
  this.timeout(300000);
  for (const [name, options, firstChunk] of CASES) {
    describe(name, () => {
      let rc: RandomCheckpoint;
      let session: DecoderSession;
      const tokens = () => TOKENS.map((t) => t % rc.ref.vocab);
      before(async () => ({ rc, session } = await open(options)));
      after(async () => {
        await session.release();
        rmSync(rc.dir, { recursive: true, force: true });
      });

      it('every hidden-state row and the logits match in full prefill (longer than the window)', async () => {
        const out = await session.forward({ tokens: [tokens()], captureRows: allRows(rc.ref.layers), logits: 'all' });
        const ref = referenceForward(rc.ref, rc.weights, tokens());
        for (let r = 0; r <= rc.ref.layers; r++) close(name, `row ${r}`, out.hidden.get(r)!, ref.hidden[r]);
        close(name, 'logits', out.logits!, ref.logits);
        if (rc.ref.slidingWindow !== undefined) {
          const unwindowed = referenceForward({ ...rc.ref, slidingWindow: undefined }, rc.weights, tokens());
          assert.ok(maxAbsDiff(unwindowed.logits, ref.logits) > 1e-3, 'the sliding window changes the output');
        }
      });

      it('steering h[r] += α·v and ablation match at row 0, a middle row and the last row', async () => {
        const normal = seededNormal(99);
        const v = Float32Array.from({ length: rc.ref.hidden }, () => normal());
        const norm = Math.hypot(...v);
        const unit = Float64Array.from(v, (x) => x / norm);
        for (const row of [0, 1, rc.ref.layers]) {
          for (const mode of ['add', 'ablate'] as const) {
            const iv = buildRowIntervention([{ vector: v, rows: [row], coefficient: 2.5, mode }], rc.ref.layers + 1, rc.ref.hidden);
            const out = await session.forward({ tokens: [tokens()], captureRows: allRows(rc.ref.layers), logits: 'all', intervention: { add: [iv.add], ablate: [iv.ablate] } });
            const steer: RefSteer = mode === 'add' ? { row, vector: Float64Array.from(v), coefficient: 2.5 } : { row, vector: unit, coefficient: 0, mode };
            const ref = referenceForward(rc.ref, rc.weights, tokens(), steer);
            for (let r = 0; r <= rc.ref.layers; r++) close(name, `${mode} row ${row}, hidden row ${r}`, out.hidden.get(r)!, ref.hidden[r]);
            close(name, `${mode} row ${row}, logits`, out.logits!, ref.logits);
            const plain = referenceForward(rc.ref, rc.weights, tokens());
            assert.ok(maxAbsDiff(plain.logits, ref.logits) > 1e-3, `${mode} at row ${row} changed the output`);
          }
        }
      });

      it('decoding with the KV cache matches the full prefill, with and without steering', async () => {
        const normal = seededNormal(7);
        const v = Float32Array.from({ length: rc.ref.hidden }, () => normal());
        const seq = tokens();
        for (const steer of [false, true]) {
          const iv = steer ? buildRowIntervention([{ vector: v, rows: [1], coefficient: -1.5 }], rc.ref.layers + 1, rc.ref.hidden) : {};
          const ref = referenceForward(rc.ref, rc.weights, seq, steer ? { row: 1, vector: Float64Array.from(v), coefficient: -1.5 } : undefined);
          let cache: KvCache | undefined;
          for (let s = 0; s < seq.length; s = s === 0 ? firstChunk : s + 1) {
            const n = s === 0 ? firstChunk : 1;
            const out = await session.forward({ tokens: [seq.slice(s, s + n)], past: cache, captureRows: allRows(rc.ref.layers), logits: 'all', intervention: iv.add ? { add: [iv.add] } : undefined });
            cache = out.cache;
            const d = rc.ref.hidden;
            for (let r = 0; r <= rc.ref.layers; r++) close(name, `step ${s} row ${r}`, out.hidden.get(r)!, ref.hidden[r].subarray(s * d, (s + n) * d));
            close(name, `step ${s} logits`, out.logits!, ref.logits.subarray(s * rc.ref.vocab, (s + n) * rc.ref.vocab));
          }
        }
      });

      it('a left-padded batch gives each row the same result as running it alone', async () => {
        const long = tokens();
        const short = long.slice(0, 8).reverse();
        const pad = long.length - short.length;
        const batch = await session.forward({
          tokens: [long, [...new Array(pad).fill(0), ...short]],
          valid: [new Uint8Array(long.length).fill(1), Uint8Array.from({ length: long.length }, (_, i) => (i < pad ? 0 : 1))],
          logits: 'last',
        });
        const alone = await session.forward({ tokens: [short], logits: 'last' });
        const V = rc.ref.vocab;
        close(name, 'left-padded batch', batch.logits!.subarray(V, 2 * V), alone.logits!);
      });
    });
  }
});

describe('phi3 longrope regimes', function () {
  this.timeout(300000);
  let rc: RandomCheckpoint;
  let session: DecoderSession;
  before(async () => ({ rc, session } = await open({ ...phi4mini, seed: 5 })));
  after(async () => {
    await session.release();
    rmSync(rc.dir, { recursive: true, force: true });
  });

  it('within the original context the short factors apply, token by token too', async () => {
    const seq = TOKENS.slice(0, 6).map((t) => t % rc.ref.vocab);
    const ref = referenceForward(rc.ref, rc.weights, seq);
    const full = await session.forward({ tokens: [seq], captureRows: allRows(rc.ref.layers), logits: 'all' });
    for (let r = 0; r <= rc.ref.layers; r++) close('phi3 longrope short regime', `row ${r}`, full.hidden.get(r)!, ref.hidden[r]);
    close('phi3 longrope short regime', 'logits', full.logits!, ref.logits);
    let cache: KvCache | undefined;
    for (let s = 0; s < seq.length; s++) {
      const out = await session.forward({ tokens: [[seq[s]]], past: cache, logits: 'all' });
      cache = out.cache;
      close('phi3 longrope short regime', `step ${s}`, out.logits!, ref.logits.subarray(s * rc.ref.vocab, (s + 1) * rc.ref.vocab));
    }
    // The long regime differs: the factors matter.
    const longRef = referenceForward(rc.ref, rc.weights, TOKENS.slice(0, 7).map((t) => t % rc.ref.vocab));
    assert.ok(maxAbsDiff(longRef.logits.subarray(0, 6 * rc.ref.vocab), ref.logits) > 1e-3);
  });

  it('forward() refuses to extend a short-factor cache past the original context (it cannot re-rotate cached keys)', async () => {
    const seq = TOKENS.slice(0, 7).map((t) => t % rc.ref.vocab);
    const first = await session.forward({ tokens: [seq.slice(0, 6)], logits: 'none' });
    assert.equal(session.needsRecompute({ tokens: [[seq[6]]], past: first.cache }), true);
    assert.equal(session.needsRecompute({ tokens: [[seq[5]]], past: (await session.forward({ tokens: [seq.slice(0, 5)], logits: 'none' })).cache }), false);
    await assert.rejects(session.forward({ tokens: [[seq[6]]], past: first.cache, logits: 'last' }), /past the model's original context of 6 tokens.*Run the whole sequence in one pass/);
  });

  // HF's Phi3ForCausalLM.prepare_inputs_for_generation drops the cache when the sequence first outgrows the original
  // context and recomputes it with the long factors: each step's logits are then those of a full forward pass over
  // the sequence so far, short factors up to the original length, long ones after. generate() must give exactly those.
  for (const steered of [false, true]) {
    it(`generate() across the original context re-runs the sequence once and matches full passes at every step${steered ? ' (steered)' : ''}`, async () => {
      const tokenizer = await Tokenizer.load(rc.dir);
      const normal = seededNormal(17);
      const v = Float32Array.from({ length: rc.ref.hidden }, () => normal());
      const iv = steered ? buildRowIntervention([{ vector: v, rows: [1], coefficient: 2 }], rc.ref.layers + 1, rc.ref.hidden) : undefined;
      const passes: { width: number; logits: Float32Array }[] = [];
      const recording = Object.create(session, {
        forward: { value: async (input: Parameters<DecoderSession['forward']>[0]) => {
          const out = await session.forward(input);
          passes.push({ width: input.tokens[0].length, logits: out.logits!.slice() });
          return out;
        } },
      }) as DecoderSession;
      const prompt = TOKENS.slice(0, 4).map((t) => t % rc.ref.vocab);
      const result = await generate(recording, tokenizer, { prompts: [prompt], maxTokens: 6, eosTokenIds: [], interventions: iv ? [iv] : undefined });
      const seq = [...prompt, ...result.tokens[0]];
      assert.equal(seq.length, 10);
      // Prefill (4), decode steps at lengths 5 and 6, the re-run of all 7 positions, then decode again at 8 and 9.
      assert.deepEqual(passes.map((p) => p.width), [4, 1, 1, 7, 1, 1]);
      const V = rc.ref.vocab;
      passes.forEach((pass, i) => {
        const length = 4 + i;
        const ref = referenceForward(rc.ref, rc.weights, seq.slice(0, length), steered ? { row: 1, vector: Float64Array.from(v), coefficient: 2 } : undefined);
        close('phi3 longrope generate across the original context', `step ${i} (length ${length})`, pass.logits, ref.logits.subarray((length - 1) * V, length * V));
        let best = 0;
        for (let t = 1; t < V; t++) if (ref.logits[(length - 1) * V + t] > ref.logits[(length - 1) * V + best]) best = t;
        if (length < seq.length) assert.equal(seq[length], best, `greedy token after ${length} positions`);
      });
    });
  }
});

describe('gemma / phi3 at int8 and int4 (fused projections quantized as one matrix)', function () {
  this.timeout(300000);
  for (const [name, options] of [
    ['gemma2', gemma2],
    ['gemma3 vision checkpoint', { ...gemma3, visionPrefix: 'model.language_model.' }],
    ['phi3', phi4mini],
  ] as [string, RandomCheckpointOptions][]) {
    for (const precision of ['int8', 'int4'] as const) {
      it(`${name} at ${precision} stays close to the float64 reference`, async () => {
        const { rc, session } = await open({ ...options, seed: 11 }, precision);
        try {
          const seq = TOKENS.map((t) => t % rc.ref.vocab);
          const out = await session.forward({ tokens: [seq], captureRows: [rc.ref.layers], logits: 'all' });
          const ref = referenceForward(rc.ref, rc.weights, seq);
          let dot = 0, na = 0, nb = 0;
          for (let i = 0; i < ref.logits.length; i++) {
            dot += out.logits![i] * ref.logits[i];
            na += out.logits![i] ** 2;
            nb += ref.logits[i] ** 2;
          }
          const cosine = dot / Math.sqrt(na * nb);
          assert.ok(cosine > (precision === 'int8' ? 0.999 : 0.97), `logit cosine ${cosine}`);
        } finally {
          await session.release();
          rmSync(rc.dir, { recursive: true, force: true });
        }
      });
    }
  }
});
