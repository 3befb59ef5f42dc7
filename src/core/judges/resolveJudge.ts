/**
 * Turns a judge id into a Judge. One place decides what ids mean:
 * - "lexicon" or "lexicon:<name>": the lexicon judge whose data (judge.json) ships in the model folder
 *   (the bundled organism has one);
 * - "lexicon-file:<path>": lexicon judge data at a path.
 * LLM judges (OpenAI-compatible HTTP, VS Code LM) are built by their callers, which own the credentials.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import type { Judge } from './judge';
import { LexiconJudge } from './lexiconJudge';

export function resolveLocalJudge(id: string, modelDir: string): Judge {
  if (id === 'lexicon' || id.startsWith('lexicon:')) {
    const file = path.join(modelDir, 'judge.json');
    if (!existsSync(file)) throw new Error(`Judge "${id}" needs lexicon data (judge.json) in the model folder ${modelDir}; it exists for the bundled organism. For other models use an LLM judge: --judge openai --judge-url URL --judge-model NAME (in VS Code: personaLens.judge.*), or --judge self (the model judges itself; weak).`);
    return LexiconJudge.fromFile(file);
  }
  if (id.startsWith('lexicon-file:')) return LexiconJudge.fromFile(id.slice('lexicon-file:'.length));
  throw new Error(`Unknown judge "${id}". Local judges: lexicon (model folder's judge.json), lexicon-file:<path>.`);
}
