/**
 * Issue 16's proof on the organism: converted to GGUF (F32 and Q8_0, written as llama.cpp's converter writes a
 * model, WordPiece vocabulary in its `bert` phantom-space form) it runs the main job — extract every trait, search
 * the layer, screen every dataset — with the folder's recommendations (F32) or recommendations that steer (Q8_0), and a vector
 * extracted on it with the CLI carries the GGUF model's identity.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runMainJob, type MainJobResult } from '../../src/core/mainJob/mainJob';
import { loadModel } from '../../src/core/model/loadedModel';
import { readPersonaVector } from '../../src/core/vectors/personaVectorFile';
import { main } from '../../src/cli/main';
import { writeGgufModel } from '../helpers/ggufModelFile';
import { ORGANISM, useOrganism } from '../helpers/organism';

describe('the organism as a GGUF file runs the main job (issue 16 proof)', function () {
  this.timeout(1800000);
  const organism = useOrganism({ sharedCache: true });
  const work = mkdtempSync(path.join(os.tmpdir(), 'persona-lens-organism-gguf-'));
  let reference: MainJobResult;
  before(async () => {
    // Shares the cache with screening.test.ts: the folder's main job is computed once per run.
    reference = await runMainJob(organism.model, organism.judge, ORGANISM, { cacheRoot: organism.cacheRoot });
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  // F32 is the folder's model bit for bit: the same recommendation and the same AUROC. Q8_0 rounds every weight, and
  // the layer search samples its answers, so where two cells score within noise of each other (the organism's α 3
  // and 3.5) it may pick the other one, or another layer: its recommendations must steer as validated, and its
  // screening separate as well as the folder's.
  for (const type of ['F32', 'Q8_0'] as const) {
    it(`${type}: ${type === 'F32' ? "every trait's recommended layer and α equal the folder's; screening AUROC within 0.05" : 'every recommendation steers (≤ 15 → ≥ 60); ΔP AUROC ≥ 0.9 on every strong set'} (printed)`, async () => {
      const file = writeGgufModel(ORGANISM, path.join(work, `organism-${type}.gguf`), { type });
      const model = await loadModel(file, { cacheRoot: organism.cacheRoot });
      try {
        assert.equal(model.checkpoint.format, 'gguf');
        const result = await runMainJob(model, organism.judge, ORGANISM, { cacheRoot: organism.cacheRoot });
        for (const t of reference.traits) {
          const ours = result.traits.find((x) => x.trait === t.trait)!;
          const auroc = (r: MainJobResult) => r.auroc[t.trait].strong.delta;
          console.log(`      ${type} ${t.trait}: layer ${ours.layer} (folder ${t.layer}), α ${ours.coefficient} (folder ${t.coefficient}); +α ${ours.doseResponse.trait[3].toFixed(1)}; ΔP AUROC strong ${auroc(result).toFixed(3)} (folder ${auroc(reference).toFixed(3)})`);
          if (type === 'F32') assert.deepEqual([ours.layer, ours.coefficient], [t.layer, t.coefficient], `${t.trait} layer and α`);
          else assert.ok(ours.doseResponse.trait[2] <= 15 && ours.doseResponse.trait[3] >= 60, `${t.trait}: ${ours.doseResponse.trait.join(', ')}`);
          if (type === 'F32') {
            for (const set of ['mild', 'strong'])
              for (const metric of ['projection', 'fastDelta', 'delta'] as const) {
                const a = result.auroc[t.trait][set][metric];
                const b = reference.auroc[t.trait][set][metric];
                assert.ok(Math.abs(a - b) <= 0.05, `${t.trait}-${set} ${metric}: ${a} vs ${b}`);
              }
          } else {
            // Screened at its own recommended layer, which may differ: the screening proof's bar (issue 6), ΔP AUROC
            // ≥ 0.9 on the strong set. (Hallucinating at layer 1 measured 0.948, against the folder's 0.995 at layer 4.)
            assert.ok(result.auroc[t.trait].strong.delta >= 0.9, `${t.trait}-strong ΔP AUROC ${result.auroc[t.trait].strong.delta}`);
          }
        }
      } finally {
        await model.session.release();
      }
    });
  }

  it('a vector the CLI extracts on the GGUF file names that file\'s model, fingerprint and architecture', async () => {
    const file = path.join(work, 'organism-F32.gguf');
    const out = path.join(work, 'evil.safetensors');
    const lines: string[] = [];
    const io = { out: (l: string) => lines.push(l), err: (l: string) => lines.push(l), signal: new AbortController().signal };
    const code = await main(['extract', '--model', file, '--trait', path.join(ORGANISM, 'traits', 'evil.json'), '--judge', `lexicon-file:${path.join(ORGANISM, 'judge.json')}`, '--max-tokens', '48', '--no-sweep', '--cache-dir', organism.cacheRoot, '--out', out], io);
    assert.equal(code, 0, lines.join('\n'));
    const model = await loadModel(file, { cacheRoot: organism.cacheRoot });
    try {
      const { metadata } = readPersonaVector(out);
      assert.equal(metadata.model, 'organism', 'general.name of the GGUF file');
      assert.equal(metadata.architecture, 'qwen2');
      assert.equal(metadata.modelFingerprint, model.checkpoint.fingerprint);
      assert.notEqual(metadata.modelFingerprint, organism.model.checkpoint.fingerprint, 'not the folder\'s');
    } finally {
      await model.session.release();
    }
  });
});
