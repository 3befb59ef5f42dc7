import assert from 'node:assert/strict';
import * as path from 'node:path';
import { installVscodeMock, repoRoot } from '../helpers/mockVscode';

describe('extension activation (mocked vscode)', () => {
  const vscode = installVscodeMock();
  const manifest = require(path.join(repoRoot, 'package.json'));
  // The CommonJS module object itself, so the bundle sees the patched fork.
  const childProcess = require('node:child_process') as typeof import('node:child_process');
  let forks = 0;
  const originalFork = childProcess.fork;

  before(() => {
    vscode.resetRecorded();
    (childProcess as { fork: typeof childProcess.fork }).fork = ((...args: Parameters<typeof childProcess.fork>) => {
      forks++;
      return originalFork(...args);
    }) as typeof childProcess.fork;
  });
  after(() => {
    (childProcess as { fork: typeof childProcess.fork }).fork = originalFork;
  });

  it('registers every contributed command, loads no onnxruntime and starts no engine', () => {
    const before = new Set(Object.keys(require.cache));
    const extension = require(path.join(repoRoot, 'dist', 'extension.js'));
    const subscriptions: { dispose(): void }[] = [];
    extension.activate({ subscriptions, extensionPath: repoRoot, extensionUri: vscode.Uri.file(repoRoot) });

    const contributed = manifest.contributes.commands.map((c: { command: string }) => c.command).sort();
    assert.deepEqual([...vscode.recorded.commands.keys()].sort(), contributed);
    assert.deepEqual(vscode.recorded.serializers, ['personaLens.panel']);

    const loaded = Object.keys(require.cache).filter((k) => !before.has(k));
    assert.ok(loaded.some((k) => k.endsWith(path.join('dist', 'extension.js'))), 'the bundle was loaded');
    assert.deepEqual(loaded.filter((k) => /onnxruntime|transformers/.test(k)), [], 'activation must not load onnxruntime or transformers.js');
    assert.equal(forks, 0, 'activation must not fork the engine');
    for (const d of subscriptions) d.dispose();
  });

  it('every command in package.json has a title and the Persona Lens category', () => {
    for (const c of manifest.contributes.commands) {
      assert.match(c.command, /^personaLens\./);
      assert.equal(c.category, 'Persona Lens');
      assert.ok(c.title.length > 3);
    }
  });

  it('every setting lives under personaLens.* and endpoint-like settings cannot be set by a workspace', () => {
    for (const [key, spec] of Object.entries<{ scope?: string }>(manifest.contributes.configuration.properties)) {
      assert.match(key, /^personaLens\./);
      if (/endpoint|url|baseUrl|apiKey/i.test(key)) assert.ok(['application', 'machine'].includes(spec.scope ?? ''), `${key} must not be workspace-overridable`);
    }
  });
});
