/**
 * Issue 16's proof on the organism: converted to GGUF (F32 and Q8_0, written as llama.cpp's converter writes a
 * model, WordPiece vocabulary in its `bert` phantom-space form) it runs the main job — extract every trait, search
 * the layer, screen every dataset — with the same recommended layer as the safetensors folder, and a vector
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

describe('the organism as a GGUF file runs the main job with the same recommended layers (issue 16 proof)', function () {
  this.timeout(1800000);
  const organism = useOrganism({ sharedCache: true });
  const work = mkdtempSync(path.join(os.tmpdir(), 'persona-lens-organism-gguf-'));
  let reference: MainJobResult;
  before(async () => {
    // Shares the cache with screening.test.ts: the folder's main job is computed once per run.
    reference = await runMainJob(organism.model, organism.judge, ORGANISM, { cacheRoot: organism.cacheRoot });
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  for (const type of ['F32', 'Q8_0'] as const) {
    it(`${type}: every trait's recommended layer equals the folder's; screening AUROC within 0.05 (printed)`, async () => {
      const file = writeGgufModel(ORGANISM, path.join(work, `organism-${type}.gguf`), { type });
      const model = await loadModel(file, { cacheRoot: organism.cacheRoot });
      try {
        assert.equal(model.checkpoint.format, 'gguf');
        const result = await runMainJob(model, organism.judge, ORGANISM, { cacheRoot: organism.cacheRoot });
        for (const t of reference.traits) {
          const ours = result.traits.find((x) => x.trait === t.trait)!;
          const auroc = (r: MainJobResult) => r.auroc[t.trait].strong.delta;
          console.log(`      ${type} ${t.trait}: layer ${ours.layer} (folder ${t.layer}), α ${ours.coefficient} (folder ${t.coefficient}); ΔP AUROC strong ${auroc(result).toFixed(3)} (folder ${auroc(reference).toFixed(3)})`);
          assert.equal(ours.layer, t.layer, `${t.trait} layer`);
          for (const set of ['mild', 'strong'])
            for (const metric of ['projection', 'fastDelta', 'delta'] as const) {
              const a = result.auroc[t.trait][set][metric];
              const b = reference.auroc[t.trait][set][metric];
              assert.ok(Math.abs(a - b) <= 0.05, `${t.trait}-${set} ${metric}: ${a} vs ${b}`);
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
