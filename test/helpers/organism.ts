/** The bundled organism, loaded once per describe block with its lexicon judge and a throw-away cache. */
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadModel, type LoadedModel } from '../../src/core/model/loadedModel';
import { LexiconJudge } from '../../src/core/judges/lexiconJudge';
import { repoRoot } from './mockVscode';

export const ORGANISM = path.join(repoRoot, 'models', 'organism');

export interface OrganismFixture {
  model: LoadedModel;
  judge: LexiconJudge;
  cacheRoot: string;
}

/** Registers before/after hooks in the calling describe; the fixture's fields are set once `before` has run. */
export function useOrganism(): OrganismFixture {
  const fixture = {} as OrganismFixture;
  before(async () => {
    fixture.cacheRoot = mkdtempSync(path.join(os.tmpdir(), 'persona-lens-organism-'));
    fixture.model = await loadModel(ORGANISM, { cacheRoot: fixture.cacheRoot });
    fixture.judge = LexiconJudge.fromFile(path.join(ORGANISM, 'judge.json'));
  });
  after(async () => {
    await fixture.model?.session.release();
    rmSync(fixture.cacheRoot, { recursive: true, force: true });
  });
  return fixture;
}
