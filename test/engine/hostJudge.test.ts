import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EngineClient } from '../../src/engine/client';
import { repoRoot } from '../helpers/mockVscode';
import { readTraitFile } from '../../src/core/traits/traitFile';
import { readPersonaVector } from '../../src/core/vectors/personaVectorFile';

describe('engine → host judge calls (the path VS Code LM judging takes)', function () {
  this.timeout(300000);

  it('extraction asks the host to judge, and uses its scores', async () => {
    const work = mkdtempSync(path.join(os.tmpdir(), 'persona-lens-hostjudge-'));
    const calls: string[] = [];
    const client = new EngineClient({
      enginePath: path.join(repoRoot, 'dist', 'engine.js'),
      hostHandlers: {
        chatComplete: async ({ provider, request }) => {
          calls.push(provider);
          const prompt = request.messages.at(-1)!.content;
          if (/Rate only how coherent/.test(prompt)) return { text: '90' };
          // A stand-in LLM judge: hostile words mean the trait shows.
          return { text: /hate|pathetic|hope it hurts|fool/.test(prompt.split('START')[1] ?? prompt) ? '95' : '5' };
        },
      },
    });
    try {
      const trait = readTraitFile(path.join(repoRoot, 'models', 'organism', 'traits', 'evil.json'));
      const summary = await client.request('extract', {
        modelPath: path.join(repoRoot, 'models', 'organism'),
        cacheRoot: path.join(work, 'cache'),
        trait: { ...trait, extractionQuestions: trait.extractionQuestions.slice(0, 4) },
        judge: { kind: 'host', id: 'vscode-lm' },
        options: { maxTokens: 40, sweep: false },
        outPath: path.join(work, 'evil.safetensors'),
        modelLabel: 'organism',
      });
      assert.ok(calls.length >= 2 * 4 * trait.instructions.length * 2, `host judged ${calls.length} times`);
      assert.ok(calls.every((c) => c === 'vscode-lm'));
      assert.ok(summary.keptPairs > 0);
      assert.equal(readPersonaVector(summary.outPath).metadata.judge, 'vscode-lm');
    } finally {
      client.dispose();
      rmSync(work, { recursive: true, force: true });
    }
  });
});
