import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeRandomCheckpoint, seededNormal, type RandomCheckpoint, type RandomCheckpointOptions } from '../helpers/randomCheckpoint';
import { referenceForward } from '../reference/referenceForward';
import { openCheckpoint } from '../../src/core/model/checkpoint';
import { prepareModelFiles } from '../../src/core/model/weightStore';
import { DecoderSession } from '../../src/core/model/decoderSession';
import { buildRowIntervention } from '../../src/core/model/steering';

const TOLERANCE = 1e-4;
const cacheRoot = mkdtempSync(path.join(os.tmpdir(), 'persona-lens-cache-'));

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'lengths differ');
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

async function open(options: RandomCheckpointOptions): Promise<{ rc: RandomCheckpoint; session: DecoderSession }> {
  const rc = writeRandomCheckpoint(options);
  const ckpt = openCheckpoint(rc.dir);
  const prepared = prepareModelFiles(ckpt, cacheRoot);
  return { rc, session: await DecoderSession.create(ckpt.spec, prepared.onnxPath, { threads: 1 }) };
}

const TOKENS = [9707, 11, 1879, 0, 151643, 42, 7, 13, 2000, 31];
const allRows = (L: number) => Array.from({ length: L + 1 }, (_, i) => i);

const CASES: [string, RandomCheckpointOptions][] = [
  ['qwen2 (q/k/v bias, tied embeddings)', { architecture: 'qwen2', tied: true }],
  ['qwen3 (q_norm/k_norm, explicit head_dim ≠ hidden/heads)', { architecture: 'qwen3', headDim: 16, layers: 3 }],
  ['llama (llama3 rope scaling, attention bias, MHA)', { architecture: 'llama', llama3Rope: true, attentionBias: true, kvHeads: 4 }],
  ['mistral (sliding window 4)', { architecture: 'mistral', slidingWindow: 4 }],
];

after(() => rmSync(cacheRoot, { recursive: true, force: true }));

describe('decoder graph vs independent reference forward (max abs error ≤ 1e-4, F32)', function () {
  this.timeout(120000);
  for (const [name, options] of CASES) {
    describe(name, () => {
      let rc: RandomCheckpoint;
      let session: DecoderSession;
      before(async () => ({ rc, session } = await open(options)));
      after(async () => {
        await session.release();
        rmSync(rc.dir, { recursive: true, force: true });
      });

      it('every hidden-state row and the logits match in full prefill', async () => {
        const tokens = TOKENS.map((t) => t % rc.ref.vocab);
        const out = await session.forward({ tokens: [tokens], captureRows: allRows(rc.ref.layers), logits: 'all' });
        const ref = referenceForward(rc.ref, rc.weights, tokens);
        for (let r = 0; r <= rc.ref.layers; r++) assert.ok(maxAbsDiff(out.hidden.get(r)!, ref.hidden[r]) <= TOLERANCE, `row ${r}: ${maxAbsDiff(out.hidden.get(r)!, ref.hidden[r])}`);
        assert.ok(maxAbsDiff(out.logits!, ref.logits) <= TOLERANCE, `logits: ${maxAbsDiff(out.logits!, ref.logits)}`);
      });

      it('steering h[L] += α·v matches, at a middle row and at the last row', async () => {
        const tokens = TOKENS.map((t) => t % rc.ref.vocab);
        const normal = seededNormal(99);
        const v = Float32Array.from({ length: rc.ref.hidden }, () => normal());
        for (const row of [1, rc.ref.layers]) {
          const iv = buildRowIntervention([{ vector: v, rows: [row], coefficient: 2.5 }], rc.ref.layers + 1, rc.ref.hidden);
          const out = await session.forward({ tokens: [tokens], captureRows: allRows(rc.ref.layers), logits: 'all', intervention: { add: [iv.add!] } });
          const ref = referenceForward(rc.ref, rc.weights, tokens, { row, vector: Float64Array.from(v), coefficient: 2.5 });
          for (let r = 0; r <= rc.ref.layers; r++) assert.ok(maxAbsDiff(out.hidden.get(r)!, ref.hidden[r]) <= TOLERANCE, `steer row ${row}, hidden row ${r}`);
          assert.ok(maxAbsDiff(out.logits!, ref.logits) <= TOLERANCE, `steer row ${row}, logits`);
          const plain = referenceForward(rc.ref, rc.weights, tokens);
          assert.ok(maxAbsDiff(plain.logits, ref.logits) > 1e-3, 'steering changed the output');
        }
      });

      it('token-by-token decoding with the KV cache matches the full prefill, with and without steering', async () => {
        const tokens = TOKENS.map((t) => t % rc.ref.vocab);
        const normal = seededNormal(7);
        const v = Float32Array.from({ length: rc.ref.hidden }, () => normal());
        for (const steer of [false, true]) {
          const iv = steer ? buildRowIntervention([{ vector: v, rows: [1], coefficient: -1.5 }], rc.ref.layers + 1, rc.ref.hidden) : {};
          const ref = referenceForward(rc.ref, rc.weights, tokens, steer ? { row: 1, vector: Float64Array.from(v), coefficient: -1.5 } : undefined);
          let cache;
          for (let s = 0; s < tokens.length; s++) {
            const out = await session.forward({ tokens: [[tokens[s]]], past: cache, captureRows: allRows(rc.ref.layers), logits: 'all', intervention: iv.add ? { add: [iv.add] } : undefined });
            cache = out.cache;
            for (let r = 0; r <= rc.ref.layers; r++) {
              const expected = ref.hidden[r].subarray(s * rc.ref.hidden, (s + 1) * rc.ref.hidden);
              assert.ok(maxAbsDiff(out.hidden.get(r)!, expected) <= TOLERANCE, `step ${s} row ${r}`);
            }
            assert.ok(maxAbsDiff(out.logits!, ref.logits.subarray(s * rc.ref.vocab, (s + 1) * rc.ref.vocab)) <= TOLERANCE, `step ${s} logits`);
          }
        }
      });

      it('a left-padded batch gives each row the same result as running it alone', async () => {
        const long = TOKENS.map((t) => t % rc.ref.vocab);
        const short = long.slice(0, 6).reverse();
        const batch = await session.forward({
          tokens: [long, [0, 0, 0, 0, ...short]],
          valid: [new Uint8Array(10).fill(1), Uint8Array.from([0, 0, 0, 0, 1, 1, 1, 1, 1, 1])],
          logits: 'last',
        });
        const alone = await session.forward({ tokens: [short], logits: 'last' });
        const V = rc.ref.vocab;
        assert.ok(maxAbsDiff(batch.logits!.subarray(V, 2 * V), alone.logits!) <= TOLERANCE);
      });
    });
  }
});

describe('weights in F16, BF16, sharded files', function () {
  this.timeout(120000);
  for (const options of [
    { architecture: 'qwen2', dtype: 'F16' },
    { architecture: 'llama', dtype: 'BF16' },
    { architecture: 'qwen3', shards: 3 },
  ] as RandomCheckpointOptions[]) {
    it(`${options.architecture} ${options.dtype ?? 'F32'}${options.shards ? `, ${options.shards} shards` : ''} matches the reference`, async () => {
      const { rc, session } = await open(options);
      try {
        const tokens = TOKENS.map((t) => t % rc.ref.vocab);
        const out = await session.forward({ tokens: [tokens], captureRows: allRows(rc.ref.layers), logits: 'all' });
        const ref = referenceForward(rc.ref, rc.weights, tokens);
        for (let r = 0; r <= rc.ref.layers; r++) assert.ok(maxAbsDiff(out.hidden.get(r)!, ref.hidden[r]) <= TOLERANCE, `row ${r}`);
        assert.ok(maxAbsDiff(out.logits!, ref.logits) <= TOLERANCE);
      } finally {
        await session.release();
        rmSync(rc.dir, { recursive: true, force: true });
      }
    });
  }

  it('F32 shards are cloned into the cache (never linked to the user file); F16 is converted once and reused', () => {
    const f32 = writeRandomCheckpoint({ architecture: 'qwen2', hidden: 16, heads: 2, kvHeads: 1, vocab: 64 });
    const f16 = writeRandomCheckpoint({ architecture: 'qwen2', hidden: 16, heads: 2, kvHeads: 1, vocab: 64, dtype: 'F16' });
    try {
      const a = prepareModelFiles(openCheckpoint(f32.dir), cacheRoot);
      assert.equal(a.clonedShards, 1);
      assert.equal(a.convertedTensors, 0);
      const { statSync, writeFileSync } = require('node:fs') as typeof import('node:fs');
      const clone = path.join(a.folder, 'shard-0.safetensors');
      assert.equal(statSync(clone).nlink, 1, 'not a hard link');
      // A trainer rewriting the user's file in place must not change what the engine reads.
      const before = statSync(clone).size;
      writeFileSync(path.join(f32.dir, 'model.safetensors'), 'truncated by a trainer');
      assert.equal(statSync(clone).size, before);
      const b = prepareModelFiles(openCheckpoint(f16.dir), cacheRoot);
      assert.equal(b.clonedShards, 0);
      assert.ok(b.convertedTensors > 0);
      assert.equal(prepareModelFiles(openCheckpoint(f16.dir), cacheRoot).reused, true);
    } finally {
      rmSync(f32.dir, { recursive: true, force: true });
      rmSync(f16.dir, { recursive: true, force: true });
    }
  });
});
