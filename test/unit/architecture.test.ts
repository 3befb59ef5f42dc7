/**
 * The layers point one way (ARCHITECTURE.md): webview → protocol → core. Core imports nothing above it, not even a
 * type; the protocol, which the panel bundles and every message passes, loads only pure core modules at run time.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { build } from 'esbuild';
import { repoRoot } from '../helpers/mockVscode';

const src = path.join(repoRoot, 'src');

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? tsFiles(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));
}

/** Every module specifier a file names: imports and re-exports (type-only ones too), dynamic imports, requires. */
function specifiers(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/\b(?:from|import|require)\s*\(?\s*['"]([^'"]+)['"]/g)].map((m) => m[1]);
}

describe('architecture: layers point one way', () => {
  it('src/core imports neither vscode nor the protocol, engine, CLI, extension or webview', () => {
    const above = ['protocol', 'engine', 'cli', 'extension'].map((d) => path.join(src, d) + path.sep);
    const offending = tsFiles(path.join(src, 'core')).flatMap((file) =>
      specifiers(file)
        .filter((s) => s === 'vscode' || (s.startsWith('.') && [...above, path.join(repoRoot, 'webview') + path.sep].some((dir) => path.resolve(path.dirname(file), s).startsWith(dir))))
        .map((s) => `${path.relative(repoRoot, file)} → ${s}`),
    );
    assert.deepEqual(offending, []);
  });

  it("the protocol's run-time imports are pure: no child processes, no onnxruntime, no device probing", async () => {
    // esbuild drops type-only imports as tsc does, so its inputs are what loading the protocol really loads.
    const protocol = tsFiles(path.join(src, 'protocol'));
    const result = await build({ entryPoints: protocol, bundle: true, write: false, metafile: true, platform: 'node', format: 'cjs', outdir: 'out', packages: 'external', logLevel: 'silent' });
    const inputs = result.metafile.inputs;
    const loaded = Object.keys(inputs);
    assert.ok(loaded.some((f) => f.endsWith('src/core/onnx/deviceChoice.ts')), `the scan sees core modules: ${loaded.join(', ')}`);
    const impure = loaded.filter((f) => /src\/core\/onnx\/(devices|runtime)\.ts$/.test(f) || inputs[f].imports.some((i) => /^(node:)?child_process$|^onnxruntime-node$/.test(i.path)));
    assert.deepEqual(impure, []);
  });
});
