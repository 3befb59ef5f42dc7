#!/usr/bin/env node
// End-to-end test setup: a real VS Code (code-server 4.100.3 = VS Code 1.100.3, from the npm registry) with the
// packaged Persona Lens VSIX installed, a fresh user-data dir and a scratch workspace. Idempotent: what is already
// there (apt packages, code-server in .vscode-test/code-server, the pre-extracted vector) is reused.
//
//   node scripts/e2e/setup.mjs            install + package + prepare (what `npm run test:e2e` runs first)
//   node scripts/e2e/setup.mjs --serve    the same, then start code-server and print its URL (Ctrl+C stops it)
//   node scripts/e2e/setup.mjs --no-package   reuse the VSIX already in the repo root
//
// Everything lives under .vscode-test/ (git-ignored). Only the npm registry and Debian's apt are used.
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, openSync, closeSync, copyFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { createServer } from 'node:net';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const CODE_SERVER_VERSION = '4.100.3';
// @vscode/ripgrep (a dependency of code-server's VS Code) downloads ripgrep from GitHub in its postinstall unless
// this archive is in its cache; we build it from Debian's ripgrep.
const RIPGREP_PACKAGE_VERSION = '1.15.11';
const RIPGREP_ASSET = 'ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz';
const APT_PACKAGES = [
  { pkg: 'libkrb5-dev', present: () => dpkgInstalled('libkrb5-dev') }, // code-server's kerberos module builds from source
  { pkg: 'ripgrep', present: () => existsSync('/usr/bin/rg') },
  { pkg: 'chromium', present: () => existsSync('/usr/bin/chromium') },
];

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BASE = path.join(ROOT, '.vscode-test');
export const paths = {
  base: BASE,
  codeServerDir: path.join(BASE, 'code-server'),
  codeServerBin: path.join(BASE, 'code-server', 'node_modules', 'code-server', 'out', 'node', 'entry.js'),
  codeServerMarker: path.join(BASE, 'code-server', `.installed-${CODE_SERVER_VERSION}`),
  extensionsDir: path.join(BASE, 'extensions'),
  userDataDir: path.join(BASE, 'user-data'),
  workspace: path.join(BASE, 'workspace'),
  vectorCache: path.join(BASE, 'vectors'),
  engineCache: path.join(BASE, 'engine-cache'),
  screenshots: path.join(BASE, 'screenshots'),
  logs: path.join(BASE, 'logs'),
  organism: path.join(ROOT, 'models', 'organism'),
};

/** The trait whose vector is extracted with the CLI during setup, so screening has a vector from the start. */
export const SETUP_TRAIT = 'evil';

const started = Date.now();
function log(message) {
  process.stderr.write(`[e2e setup +${((Date.now() - started) / 1000).toFixed(1)}s] ${message}\n`);
}

function run(cmd, args, options = {}) {
  execFileSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], ...options });
}

function dpkgInstalled(pkg) {
  try {
    return /install ok installed/.test(execFileSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
  } catch {
    return false;
  }
}

/** apt-get installs libkrb5-dev, ripgrep and chromium when missing (root, Debian). */
export function ensureAptPackages() {
  const missing = APT_PACKAGES.filter((p) => !p.present()).map((p) => p.pkg);
  if (!missing.length) return log('apt packages present');
  log(`apt-get install ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  run('apt-get', ['update', '-qq'], { env });
  run('apt-get', ['install', '-y', '-qq', ...missing], { env });
}

/** The tarball @vscode/ripgrep's postinstall looks for before it would download from GitHub. */
export function ensureRipgrepCache() {
  const dir = path.join(os.tmpdir(), `vscode-ripgrep-cache-${RIPGREP_PACKAGE_VERSION}`);
  const tarball = path.join(dir, RIPGREP_ASSET);
  if (existsSync(tarball) && statSync(tarball).size > 0) return;
  if (process.arch !== 'x64') throw new Error(`the ripgrep cache trick is set up for x86_64 only (this is ${process.arch})`);
  log(`ripgrep cache ${tarball} from /usr/bin/rg`);
  const staging = path.join(BASE, 'rg-staging');
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  copyFileSync('/usr/bin/rg', path.join(staging, 'rg'));
  mkdirSync(dir, { recursive: true });
  run('tar', ['-czf', `${tarball}.tmp`, '-C', staging, 'rg']);
  run('mv', [`${tarball}.tmp`, tarball]);
  rmSync(staging, { recursive: true, force: true });
}

/** code-server from the npm registry into .vscode-test/code-server (skipped when that version is there). */
export function ensureCodeServer() {
  if (existsSync(paths.codeServerMarker) && existsSync(paths.codeServerBin)) return log(`code-server ${CODE_SERVER_VERSION} present`);
  ensureRipgrepCache();
  log(`npm install code-server@${CODE_SERVER_VERSION} (about 2 minutes)`);
  rmSync(paths.codeServerDir, { recursive: true, force: true });
  mkdirSync(paths.codeServerDir, { recursive: true });
  writeFileSync(path.join(paths.codeServerDir, 'package.json'), JSON.stringify({ name: 'persona-lens-e2e-code-server', private: true }, null, 2) + '\n');
  // Its own folder, not a dependency of the extension; --unsafe-perm because CI runs as root.
  run('npm', ['install', `code-server@${CODE_SERVER_VERSION}`, '--unsafe-perm', '--no-audit', '--no-fund', '--no-package-lock', '--loglevel=error'], {
    cwd: paths.codeServerDir,
    env: { ...process.env, npm_config_yes: 'true' },
  });
  const rg = path.join(paths.codeServerDir, 'node_modules', 'code-server', 'lib', 'vscode', 'node_modules', '@vscode', 'ripgrep', 'bin', 'rg');
  if (!existsSync(paths.codeServerBin) || !existsSync(rg)) throw new Error('code-server installed incompletely (its postinstall did not run?)');
  writeFileSync(paths.codeServerMarker, `${new Date().toISOString()}\n`);
}

/** code-server writes its own logs and heartbeat under $XDG_DATA_HOME/code-server: keep them in .vscode-test too. */
function codeServerEnv(extra = {}) {
  return { ...process.env, XDG_DATA_HOME: path.join(BASE, 'xdg-data'), ...extra };
}

function codeServerArgs(extra) {
  return [paths.codeServerBin, '--config', path.join(BASE, 'code-server.yaml'), '--extensions-dir', paths.extensionsDir, '--user-data-dir', paths.userDataDir, ...extra];
}

function vsixPath() {
  const { version } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  return path.join(ROOT, `persona-lens-${process.platform}-${process.arch}-${version}.vsix`);
}

/** `npm run package` (production build + per-target VSIX), then code-server --install-extension into .vscode-test/extensions. */
export function ensureExtension({ packageVsix = true } = {}) {
  const vsix = vsixPath();
  if (packageVsix || !existsSync(vsix)) {
    log('npm run package');
    run('npm', ['run', 'package', '--silent'], { cwd: ROOT });
  }
  writeFileSync(path.join(BASE, 'code-server.yaml'), 'auth: none\n');
  rmSync(paths.extensionsDir, { recursive: true, force: true });
  mkdirSync(paths.extensionsDir, { recursive: true });
  log(`install ${path.basename(vsix)} into ${path.relative(ROOT, paths.extensionsDir)}`);
  run(process.execPath, codeServerArgs(['--install-extension', vsix, '--force']), { cwd: BASE, env: codeServerEnv(), stdio: ['ignore', 'ignore', 'inherit'] });
  const installed = readdirSync(paths.extensionsDir).find((d) => d.startsWith('persona-lens.persona-lens-'));
  if (!installed || !existsSync(path.join(paths.extensionsDir, installed, 'dist', 'engine.js'))) throw new Error('the VSIX did not install into the extensions dir');
  return path.join(paths.extensionsDir, installed);
}

function sha(file) {
  return createHash('sha256').update(readFileSync(file)).digest('hex').slice(0, 16);
}

/**
 * The evil vector of the organism, extracted once with the CLI (`node dist/cli.js extract`) and cached by model,
 * trait and CLI-bundle hash, so the screening test has a vector without waiting for the extraction test.
 */
export function ensureSetupVector() {
  const trait = path.join(paths.organism, 'traits', `${SETUP_TRAIT}.json`);
  const cli = path.join(ROOT, 'dist', 'cli.js');
  if (!existsSync(cli)) run('npm', ['run', 'build', '--silent'], { cwd: ROOT });
  const key = [sha(path.join(paths.organism, 'model.safetensors')), sha(trait), sha(cli)].join('-');
  const out = path.join(paths.vectorCache, key, `${SETUP_TRAIT}.organism.safetensors`);
  if (existsSync(out)) {
    log(`${SETUP_TRAIT} vector present (${path.relative(ROOT, out)})`);
    return out;
  }
  log(`extract the ${SETUP_TRAIT} vector with the CLI`);
  mkdirSync(path.dirname(out), { recursive: true });
  run(process.execPath, [cli, 'extract', '--model', paths.organism, '--trait', trait, '--out', `${out}.tmp.safetensors`, '--cache-dir', paths.engineCache], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  run('mv', [`${out}.tmp.safetensors`, out]);
  return out;
}

/** Deterministic user settings: no trust prompt, no welcome page, no tips, no telemetry or update checks, no restore. */
export const USER_SETTINGS = {
  'security.workspace.trust.enabled': false,
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'workbench.enableExperiments': false,
  'workbench.colorTheme': 'Default Dark Modern',
  'workbench.editor.enablePreview': false,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'window.restoreWindows': 'none',
  'files.hotExit': 'off',
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoUpdate': false,
  'extensions.autoCheckUpdates': false,
  'extensions.ignoreRecommendations': true,
  'git.enabled': false,
  'git.openRepositoryInParentFolders': 'never',
  'chat.commandCenter.enabled': false,
  'editor.minimap.enabled': false,
  'editor.hover.delay': 300,
  'editor.codeLens': true,
  'problems.defaultViewMode': 'list',
  'personaLens.modelPath': '',
  'personaLens.judge.provider': 'lexicon',
  'personaLens.screening.metric': 'delta',
};

/** A fresh user-data dir with USER_SETTINGS and a fresh scratch workspace (datasets + the setup vector). */
export function prepareRun(vector = ensureSetupVector()) {
  rmSync(paths.userDataDir, { recursive: true, force: true });
  mkdirSync(path.join(paths.userDataDir, 'User'), { recursive: true });
  writeFileSync(path.join(paths.userDataDir, 'User', 'settings.json'), JSON.stringify(USER_SETTINGS, null, 2) + '\n');

  rmSync(paths.workspace, { recursive: true, force: true });
  mkdirSync(path.join(paths.workspace, '.persona', 'vectors'), { recursive: true });
  cpSync(vector, path.join(paths.workspace, '.persona', 'vectors', path.basename(vector)));
  const datasets = path.join(paths.organism, 'datasets');
  mkdirSync(path.join(paths.workspace, 'datasets'), { recursive: true });
  for (const f of readdirSync(datasets).filter((f) => f.endsWith('.jsonl'))) cpSync(path.join(datasets, f), path.join(paths.workspace, 'datasets', f));
  cpSync(path.join(datasets, 'labels'), path.join(paths.workspace, 'labels'), { recursive: true });
  writeFileSync(path.join(paths.workspace, 'README.md'), '# Persona Lens E2E scratch workspace\n\nRecreated by scripts/e2e/setup.mjs on every run.\n');
  for (const dir of [paths.screenshots, paths.logs]) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
  }
}

/** A TCP port nobody listens on right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function httpStatus(url) {
  return new Promise((resolve) => {
    const req = http.get(url, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.setTimeout(2000, () => req.destroy());
  });
}

/**
 * Starts code-server on a free port with the workspace and resolves when /healthz answers 200 (polled; the
 * process exiting first rejects at once). Returns the URL, the process and stop().
 */
export async function startCodeServer({ port, timeoutMs = 60000 } = {}) {
  port ??= await freePort();
  const logFile = path.join(paths.logs, 'code-server.log');
  mkdirSync(paths.logs, { recursive: true });
  const out = openSync(logFile, 'w');
  const child = spawn(
    process.execPath,
    codeServerArgs(['--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust', '--disable-getting-started-override', paths.workspace]),
    // Its own process group (detached), so stop() ends the extension host and the engine with it. The extension
    // host inherits the environment: PERSONA_LENS_CACHE keeps any CLI-style cache use inside .vscode-test.
    { cwd: BASE, stdio: ['ignore', out, out], detached: true, env: codeServerEnv({ PERSONA_LENS_CACHE: paths.engineCache }) },
  );
  closeSync(out);
  // Whatever way this process ends (even without the tests' after-all hook), code-server's group goes with it.
  const killGroup = () => {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {}
  };
  process.once('exit', killGroup);
  let exited = null;
  child.once('exit', (code, signal) => {
    exited = `code-server exited (${signal ?? code}) before it was up; see ${logFile}`;
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited) throw new Error(exited);
    if ((await httpStatus(`${url}/healthz`)) === 200) break;
    if (Date.now() > deadline) {
      stopProcessGroup(child);
      throw new Error(`code-server did not answer on ${url} within ${timeoutMs} ms; see ${logFile}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    port,
    pid: child.pid,
    logFile,
    workspaceUrl: `${url}/?folder=${encodeURIComponent(paths.workspace)}`,
    stop: () => stopProcessGroup(child).finally(() => process.removeListener('exit', killGroup)),
  };
}

/** Ends code-server and everything it started (extension host, engine): its own process group, by id. */
function stopProcessGroup(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      try {
        process.kill(-child.pid, 'SIGKILL'); // stragglers in the group (extension host, engine)
      } catch {}
      return resolve();
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {}
    }, 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      try {
        process.kill(-child.pid, 'SIGKILL'); // stragglers in the group (extension host, engine)
      } catch {}
      resolve();
    });
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      resolve();
    }
  });
}

/** The whole setup; returns the installed extension's folder. */
export function setup({ packageVsix = true } = {}) {
  mkdirSync(BASE, { recursive: true });
  ensureAptPackages();
  ensureCodeServer();
  const extensionDir = ensureExtension({ packageVsix });
  const vector = ensureSetupVector();
  prepareRun(vector);
  log('ready');
  return extensionDir;
}

async function main() {
  setup({ packageVsix: !process.argv.includes('--no-package') });
  if (!process.argv.includes('--serve')) return;
  const server = await startCodeServer();
  log(`code-server is up: ${server.workspaceUrl} (Ctrl+C stops it)`);
  const stop = () => server.stop().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

// No top-level await: the E2E tests require() this module from CommonJS.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    process.stderr.write(`[e2e setup] failed: ${err instanceof Error ? err.message : err}\n`);
    process.exit(1);
  });
}
