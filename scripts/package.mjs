// Builds for production and packages a VSIX for one platform target (default: this machine's),
// keeping only that platform's onnxruntime binaries. Prints the VSIX size.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, statSync, mkdirSync } from 'node:fs';

const TARGETS = {
  'linux-x64': 'linux/x64',
  'linux-arm64': 'linux/arm64',
  'darwin-arm64': 'darwin/arm64',
  'win32-x64': 'win32/x64',
  'win32-arm64': 'win32/arm64',
};
const arg = process.argv.indexOf('--target');
const target = arg >= 0 ? process.argv[arg + 1] : `${process.platform}-${process.arch}`;
if (!TARGETS[target]) {
  console.error(`Unsupported target "${target}". onnxruntime-node ships binaries for: ${Object.keys(TARGETS).join(', ')}`);
  process.exit(2);
}

execFileSync(process.execPath, ['scripts/build.mjs', '--production'], { stdio: 'inherit' });

mkdirSync('dist', { recursive: true });
const ignoreFile = `dist/.vscodeignore.${target}`;
const binaries = `!node_modules/onnxruntime-node/bin/napi-v6/${TARGETS[target]}/**`;
writeFileSync(ignoreFile, `${readFileSync('.vscodeignore', 'utf8')}\n# onnxruntime binaries for ${target} only\n${binaries}\n`);

const { version } = JSON.parse(readFileSync('package.json', 'utf8'));
const out = `persona-lens-${target}-${version}.vsix`;
execFileSync(
  process.execPath,
  ['node_modules/@vscode/vsce/vsce', 'package', '--target', target, '--allow-missing-repository', '--no-rewrite-relative-links', '--ignoreFile', ignoreFile, '--out', out],
  { stdio: 'inherit' },
);
console.log(`${out}: ${(statSync(out).size / 1024 / 1024).toFixed(1)} MiB`);
