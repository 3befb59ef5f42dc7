import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { main } from '../../src/cli/main';
import { writeRandomCheckpoint } from '../helpers/randomCheckpoint';
import { writePersonaVector } from '../../src/core/vectors/personaVectorFile';
import { readSteeringVector } from '../../src/core/vectors/vectorFile';
import { seededNormal } from '../helpers/randomCheckpoint';

describe('CLI: export-gguf / import-gguf round trip', () => {
  it('exports rows 2…L as direction.1…L-1 and imports them back bit-exactly for the same model', async () => {
    const rc = writeRandomCheckpoint({ architecture: 'llama', hidden: 16, heads: 2, kvHeads: 1, vocab: 128256, layers: 3 });
    const work = mkdtempSync(path.join(os.tmpdir(), 'persona-lens-gguf-cli-'));
    try {
      const rows = 4;
      const d = 16;
      const normal = seededNormal(1);
      const v = Float32Array.from({ length: rows * d }, () => normal());
      const vec = path.join(work, 'v.safetensors');
      const zeros = () => new Float32Array(rows * d);
      writePersonaVector(vec, {
        trait: 't', rows, d, vectors: { response_avg: v, prompt_avg: zeros(), prompt_last: zeros() }, keptPairs: 1, totalPairs: 1, separation: [], residualNorms: new Float32Array(rows),
        vectorNorms: new Float64Array(rows), sweep: [], judge: 'x', cacheFolder: work,
      }, { model: 'm', modelFingerprint: 'f', architecture: 'llama', traitHash: 'h' });
      const out: string[] = [];
      const io = { out: (l: string) => out.push(l), err: (l: string) => out.push(l), signal: new AbortController().signal };
      assert.equal(await main(['export-gguf', vec, '--out', path.join(work, 'v.gguf')], io), 0, out.join('\n'));
      assert.equal(await main(['import-gguf', path.join(work, 'v.gguf'), '--model', rc.dir, '--out', path.join(work, 'back.safetensors')], io), 0, out.join('\n'));
      const back = readSteeringVector(path.join(work, 'back.safetensors'));
      assert.deepEqual([back.rows, back.d], [rows, d]);
      for (let i = 0; i < rows * d; i++) {
        const expected = i < 2 * d ? 0 : v[i]; // rows 0 and 1 cannot be control vectors
        assert.ok(Object.is(back.data[i], expected), `element ${i}`);
      }
      const wide = writeRandomCheckpoint({ architecture: 'llama', hidden: 32, heads: 2, kvHeads: 1, vocab: 128256, layers: 3 });
      assert.equal(await main(['import-gguf', path.join(work, 'v.gguf'), '--model', wide.dir, '--out', path.join(work, 'x.safetensors')], io), 1);
      assert.match(out.join('\n'), /16|width|hidden/);
      rmSync(wide.dir, { recursive: true, force: true });
    } finally {
      rmSync(rc.dir, { recursive: true, force: true });
      rmSync(work, { recursive: true, force: true });
    }
  });
});
