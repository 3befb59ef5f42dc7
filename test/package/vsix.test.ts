import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, existsSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EngineClient } from '../../src/engine/client';
import { repoRoot } from '../helpers/mockVscode';

describe('VSIX package (npm run package)', function () {
  this.timeout(240000);
  let unpacked: string;
  let vsix: string;

  before(() => {
    execFileSync(process.execPath, ['scripts/package.mjs', '--target', 'linux-x64'], { cwd: repoRoot, stdio: 'pipe' });
    vsix = path.join(repoRoot, `persona-lens-linux-x64-${require('../../package.json').version}.vsix`);
    unpacked = mkdtempSync(path.join(os.tmpdir(), 'persona-lens-vsix-'));
    execFileSync('unzip', ['-q', vsix, '-d', unpacked]);
  });
  after(() => {
    rmSync(unpacked, { recursive: true, force: true });
    // Leave a development build in dist/ for the other tests.
    execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: repoRoot });
  });

  it('holds the bundles, the engine entry and only the linux-x64 onnxruntime binary', () => {
    const ext = path.join(unpacked, 'extension');
    for (const f of ['dist/extension.js', 'dist/engine.js', 'dist/cli.js', 'dist/webview/panel.js', 'package.json']) assert.ok(existsSync(path.join(ext, f)), f);
    assert.ok(existsSync(path.join(ext, 'node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1')));
    assert.ok(!existsSync(path.join(ext, 'node_modules/onnxruntime-node/bin/napi-v6/win32')), 'other platforms are pruned');
    assert.ok(!existsSync(path.join(ext, 'src')), 'sources are not shipped');
    assert.ok(!existsSync(path.join(ext, 'node_modules/sharp')), 'sharp is stubbed, not shipped');
    for (const f of ['models/organism/model.safetensors', 'models/organism/config.json', 'models/organism/judge.json', 'models/organism/traits/evil.json', 'models/organism/datasets/evil-strong.jsonl', 'schemas/trait.schema.json', 'media/heat-3.svg']) {
      assert.ok(existsSync(path.join(ext, f)), `${f} ships (the offline default model and its assets)`);
    }
    assert.ok(!existsSync(path.join(ext, 'organism')), 'training scripts are not shipped');
    assert.ok(statSync(vsix).size < 40 * 1024 * 1024, `VSIX is ${statSync(vsix).size} bytes`);
  });

  it("the packaged engine runs from the unpacked VSIX", async () => {
    const client = new EngineClient({ enginePath: path.join(unpacked, 'extension', 'dist', 'engine.js') });
    try {
      const result = await client.request('selfCheck', { runs: 2, size: 64 });
      assert.ok(result.maxAbsError < 1e-4);
    } finally {
      client.dispose();
    }
  });
});
