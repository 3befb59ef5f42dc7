// Bundles the extension, the engine process, the CLI and the webview with esbuild.
// onnxruntime-node (native) stays external and ships in the VSIX; sharp is replaced by a stub.
import * as esbuild from 'esbuild';
import { copyFile, mkdir, chmod } from 'node:fs/promises';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

const node = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: !production,
  minify: production,
  logLevel: 'warning',
  external: ['vscode', 'onnxruntime-node', 'onnxruntime-common'],
  alias: { sharp: './src/stubs/sharp.ts' },
};

const builds = [
  { ...node, entryPoints: { extension: 'src/extension/extension.ts' }, outdir: 'dist' },
  { ...node, entryPoints: { engine: 'src/engine/main.ts' }, outdir: 'dist' },
  { ...node, entryPoints: { cli: 'src/cli/main.ts' }, outdir: 'dist', banner: { js: '#!/usr/bin/env node' } },
  {
    entryPoints: { panel: 'webview/src/main.ts' },
    outdir: 'dist/webview',
    bundle: true,
    platform: 'browser',
    target: 'chrome120',
    format: 'iife',
    sourcemap: !production,
    minify: production,
    logLevel: 'warning',
  },
];

await mkdir('dist/webview', { recursive: true });
if (watch) {
  for (const b of builds) await (await esbuild.context(b)).watch();
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
}
await copyFile('webview/src/panel.css', 'dist/webview/panel.css');
await chmod('dist/cli.js', 0o755);
