import assert from 'node:assert/strict';
import * as path from 'node:path';
import * as childProcess from 'node:child_process';
import { repoRoot } from '../helpers/mockVscode';

describe('extension activation (mocked vscode)', () => {
  const manifest = require(path.join(repoRoot, 'package.json'));

  it('registers every contributed command, loads no onnxruntime and starts no engine (fresh process)', () => {
    // A fresh Node process, so modules other tests loaded cannot hide what activation loads.
    const script = `
      const { installVscodeMock } = require(${JSON.stringify(path.join(repoRoot, 'test', 'helpers', 'mockVscode.ts'))});
      const vscode = installVscodeMock();
      const cp = require('node:child_process');
      let forks = 0;
      const fork = cp.fork;
      cp.fork = (...a) => { forks++; return fork(...a); };
      const before = new Set(Object.keys(require.cache));
      const ext = require(${JSON.stringify(path.join(repoRoot, 'dist', 'extension.js'))});
      ext.activate({ subscriptions: [], extensionPath: ${JSON.stringify(repoRoot)}, extensionUri: vscode.Uri.file(${JSON.stringify(repoRoot)}), globalStorageUri: vscode.Uri.file('/tmp') });
      const loaded = Object.keys(require.cache).filter((k) => !before.has(k));
      process.stdout.write(JSON.stringify({ commands: [...vscode.recorded.commands.keys()], serializers: vscode.recorded.serializers, loaded, forks }));`;
    const result = JSON.parse(childProcess.execFileSync(process.execPath, ['--require', 'tsx/cjs', '-e', script], { cwd: repoRoot, encoding: 'utf8' }));
    const contributed = manifest.contributes.commands.map((c: { command: string }) => c.command).sort();
    assert.deepEqual(result.commands.sort(), contributed);
    assert.deepEqual(result.serializers, ['personaLens.panel']);
    assert.ok(result.loaded.some((k: string) => k.endsWith(path.join('dist', 'extension.js'))), 'the bundle was loaded');
    assert.deepEqual(result.loaded.filter((k: string) => /onnxruntime|transformers/.test(k)), [], 'activation must not load onnxruntime or transformers.js');
    assert.equal(result.forks, 0, 'activation must not fork the engine');
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
