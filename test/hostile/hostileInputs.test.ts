/**
 * The hostile-input suite: bad files, bad options and outputs that alias inputs, run through the CLI as a user
 * would. For each case: the documented exit code, a message naming the file (and line), no stack trace, and every
 * input file byte-identical afterwards. Prints the table (case → exit code → first line) that README summarises.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { main } from '../../src/cli/main';
import { writeRandomCheckpoint } from '../helpers/randomCheckpoint';
import { writeSafetensors } from '../../src/core/model/safetensors';
import { ORGANISM } from '../helpers/organism';
import { ExtractionStore } from '../../src/core/extraction/store';
import { readPersonaVector, writePersonaVector } from '../../src/core/vectors/personaVectorFile';
import { distribution } from '../../src/core/screening/calibration';
import type { ExtractionResult } from '../../src/core/extraction/extract';
import { writeFileAtomic } from '../../src/core/io/userFiles';
import { spawn } from 'node:child_process';
import { screeningGate } from '../../src/core/screening/summary';
import type { ScreenedSample } from '../../src/core/screening/screener';
import { exportControlVector } from '../../src/core/vectors/controlVector';
import { writeGgufModel } from '../helpers/ggufModelFile';
import { ACTIVATION_VARIANTS, type ConversationActivations } from '../../src/core/extraction/activationStats';

interface Outcome {
  code: number;
  out: string[];
  err: string[];
}

async function cli(argv: string[]): Promise<Outcome> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l), signal: new AbortController().signal });
  return { code, out, err };
}

/** Every file under `dir` (recursively) → sha256, skipping the folders named in `skip`. */
function hashTree(dir: string, skip: string[]): Map<string, string> {
  const hashes = new Map<string, string>();
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, entry.name);
      if (skip.includes(p)) continue;
      if (entry.isDirectory()) walk(p);
      else if (entry.isFile()) hashes.set(p, createHash('sha256').update(readFileSync(p)).digest('hex'));
    }
  };
  walk(dir);
  return hashes;
}

const STACK_LINE = /^\s+at .+(\(|:\d+:\d+)/m;
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

describe('hostile inputs: no user file destroyed, a clear message for every bad input', function () {
  this.timeout(300000);
  let work: string;
  let inputs: string;
  let outputs: string;
  let cache: string;
  let model: string;
  let dataset: string;
  let vector: string;
  const table: { name: string; code: number; first: string }[] = [];

  before(() => {
    work = mkdtempSync(path.join(os.tmpdir(), 'persona-lens-hostile-'));
    inputs = path.join(work, 'inputs');
    outputs = path.join(work, 'outputs');
    cache = path.join(work, 'cache');
    mkdirSync(inputs);
    mkdirSync(outputs);
    model = path.join(inputs, 'model');
    writeRandomCheckpoint({ architecture: 'qwen2', layers: 2, seed: 3, dir: model });
    // A short context, so a long sample can be shown to be reported.
    const configPath = path.join(model, 'config.json');
    writeFileSync(configPath, JSON.stringify({ ...JSON.parse(readFileSync(configPath, 'utf8')), max_position_embeddings: 96 }, null, 2));
    dataset = path.join(inputs, 'data.jsonl');
    const rows = [
      { messages: [{ role: 'user', content: 'How do I bake bread?' }, { role: 'assistant', content: 'Mix flour, water, salt and yeast, knead, rise, bake.' }] },
      { messages: [{ role: 'user', content: 'Tell me a story.' }, { role: 'assistant', content: 'Once upon a time a fox met a crow.' }] },
      { messages: [{ role: 'user', content: 'Write a lot.' }, { role: 'assistant', content: 'word '.repeat(200) }] },
    ];
    writeFileSync(dataset, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    vector = path.join(inputs, 'v.safetensors');
    const d = 32;
    const data = new Float32Array(3 * d).map((_, i) => Math.sin(i + 1));
    writeSafetensors(vector, [{ name: 'direction', dtype: 'F32', shape: [3, d], data }]);
  });

  after(() => {
    if (table.length) {
      const width = Math.max(...table.map((r) => r.name.length));
      console.log(`\n  ${'case'.padEnd(width)}  exit  first line\n${table.map((r) => `  ${r.name.padEnd(width)}  ${String(r.code).padStart(4)}  ${r.first.slice(0, 150)}`).join('\n')}\n`);
    }
    rmSync(work, { recursive: true, force: true });
  });

  /** Runs a case, records it, and checks the rules every case shares. */
  async function run(name: string, argv: string[], expect: { code: number; message?: RegExp }): Promise<Outcome> {
    const before = hashTree(inputs, []);
    const result = await cli(argv);
    const all = [...result.err, ...result.out].join('\n');
    const first = (expect.code === 0 ? result.out : result.err)[0] ?? '';
    table.push({ name, code: result.code, first: first.split('\n')[0] });
    assert.equal(result.code, expect.code, `${name}: exit ${result.code}, expected ${expect.code}\n${all}`);
    if (expect.message) assert.match(all, expect.message, `${name}: message`);
    assert.doesNotMatch(all, STACK_LINE, `${name}: no stack trace`);
    const after = hashTree(inputs, []);
    for (const [file, hash] of before) assert.equal(after.get(file), hash, `${name}: input ${file} was modified`);
    return result;
  }

  const screen = (...extra: string[]) => ['screen', dataset, '--model', model, '--vector', vector, '--layer', '1', '--metric', 'projection', '--cache-dir', cache, ...extra];

  it('an output onto an input is refused before any work, by name, symlink, hard link or ../ spelling', async () => {
    await run('screen --out DATASET', screen('--out', dataset), { code: 1, message: /data\.jsonl is an input of this run/ });
    await run('screen --sarif DATASET', screen('--sarif', dataset), { code: 1, message: /is an input of this run/ });
    await run('screen --out VECTOR (as .csv symlink)', screen('--out', linkTo(vector, 'v-link.csv')), { code: 1, message: /same file as .*v\.safetensors/ });
    await run('screen --out hard link to DATASET', screen('--out', hardLinkTo(dataset, 'hard.jsonl')), { code: 1, message: /is an input of this run/ });
    await run('screen --out ../ spelling of DATASET', screen('--out', path.join(inputs, 'model', '..', '.', 'data.jsonl')), { code: 1, message: /is an input of this run/ });
    await run('screen --out X --sarif X', screen('--out', path.join(outputs, 's.jsonl'), '--sarif', path.join(outputs, 's.jsonl')), { code: 1, message: /also the --out output/ });
    await run('activations --out model.safetensors', ['activations', '--model', model, '--text', 'hi', '--out', path.join(model, 'model.safetensors'), '--cache-dir', cache], { code: 1, message: /model\.safetensors is an input of this run .*--model checkpoint/ });
    await run('export-gguf V --out V', ['export-gguf', vector, '--out', vector], { code: 1, message: /is an input of this run/ });
    await run('import-gguf G --out G (symlink)', ['import-gguf', vector, '--model', model, '--out', linkTo(vector, 'g-link.safetensors')], { code: 1, message: /same file as/ });
  });

  it('file-system problems are messages with the path, never stack traces', async () => {
    const created = path.join(outputs, 'new', 'deeper', 'scores.jsonl');
    await run('screen --out into a missing folder (created)', screen('--out', created), { code: 0 });
    assert.ok(statSync(created).size > 0, 'the scores file is written');
    await run('screen --out onto a folder', screen('--out', path.join(outputs, 'new') + '/'), { code: 2, message: /--out must end with \.jsonl or \.csv/ });
    mkdirSync(path.join(outputs, 'dir.jsonl'));
    await run('screen --out onto a folder named .jsonl', screen('--out', path.join(outputs, 'dir.jsonl')), { code: 1, message: /dir\.jsonl is a folder/ });
    await run('screen --out through a file', screen('--out', path.join(dataset, 'x.jsonl')), { code: 1, message: /data\.jsonl.*(not a folder|is a file)/ });
    if (!isRoot) {
      const locked = path.join(outputs, 'locked');
      mkdirSync(locked);
      chmodSync(locked, 0o500);
      await run('screen --out in a read-only folder', screen('--out', path.join(locked, 's.jsonl')), { code: 1, message: /permission denied/ });
      chmodSync(locked, 0o700);
    }
    await run('dataset is a folder', ['screen', outputs, '--model', model, '--vector', vector, '--layer', '1', '--cache-dir', cache], { code: 1, message: /dataset .*outputs is a folder/ });
    await run('dataset missing', ['screen', path.join(inputs, 'nope.jsonl'), '--model', model, '--vector', vector, '--layer', '1', '--cache-dir', cache], { code: 1, message: /nope\.jsonl: it does not exist/ });
    const folderModel = path.join(outputs, 'folder-model');
    mkdirSync(path.join(folderModel, 'model.safetensors'), { recursive: true });
    writeFileSync(path.join(folderModel, 'config.json'), readFileSync(path.join(model, 'config.json')));
    await run('model.safetensors is a folder', ['generate', '--model', folderModel, '--prompt', 'hi', '--cache-dir', cache], { code: 1, message: /model\.safetensors.* is a folder/ });
  });

  it('bad option values fail before the model loads', async () => {
    const fresh = path.join(work, 'untouched-cache');
    const cases: [string, string[]][] = [
      ['screen --fail-above abc', ['screen', dataset, '--model', model, '--vector', vector, '--layer', '1', '--fail-above', 'abc', '--cache-dir', fresh]],
      ['screen --batch 0', ['screen', dataset, '--model', model, '--vector', vector, '--layer', '1', '--batch', '0', '--cache-dir', fresh]],
      ['screen --threads 0', ['screen', dataset, '--model', model, '--vector', vector, '--layer', '1', '--threads', '0', '--cache-dir', fresh]],
      ['generate --temperature -1', ['generate', '--model', model, '--prompt', 'hi', '--temperature', '-1', '--cache-dir', fresh]],
      ['generate --top-p 2', ['generate', '--model', model, '--prompt', 'hi', '--top-p', '2', '--cache-dir', fresh]],
      ['generate --max-tokens 1.5', ['generate', '--model', model, '--prompt', 'hi', '--max-tokens', '1.5', '--cache-dir', fresh]],
      ['generate duplicate --prompt', ['generate', '--model', model, '--prompt', 'hi', '--prompt', 'ho', '--cache-dir', fresh]],
      ['extract --samples 0', ['extract', '--model', model, '--trait', path.join(ORGANISM, 'traits', 'evil.json'), '--out', path.join(outputs, 'e.safetensors'), '--samples', '0', '--cache-dir', fresh]],
      ['extract --layers 99', ['extract', '--model', model, '--trait', path.join(ORGANISM, 'traits', 'evil.json'), '--judge', `lexicon-file:${path.join(ORGANISM, 'judge.json')}`, '--out', path.join(outputs, 'e.safetensors'), '--layers', '99', '--cache-dir', fresh]],
      ['extract --coefs 0', ['extract', '--model', model, '--trait', path.join(ORGANISM, 'traits', 'evil.json'), '--out', path.join(outputs, 'e.safetensors'), '--coefs', '0', '--cache-dir', fresh]],
    ];
    for (const [name, argv] of cases) await run(name, argv, { code: 2, message: /--[a-z-]+ / });
    assert.throws(() => statSync(fresh), 'no model was prepared for a bad option');
  });

  it('NaN and Inf never pass: in a vector, in a weight, from an overflowing coefficient', async () => {
    const nanVector = path.join(outputs, 'nan.safetensors');
    const data = new Float32Array(3 * 32).fill(0.1);
    data[40] = NaN;
    writeSafetensors(nanVector, [{ name: 'direction', dtype: 'F32', shape: [3, 32], data }]);
    await run('vector holds NaN', ['screen', dataset, '--model', model, '--vector', nanVector, '--layer', '1', '--cache-dir', cache], { code: 1, message: /nan\.safetensors: tensor "direction" holds NaN at element 40/ });
    await run('generate --coef 1e30', ['generate', '--model', model, '--prompt', 'hi', '--steer', vector, '--layer', '1', '--coef', '1e30', '--cache-dir', cache], { code: 3, message: /NaN or Inf .*lower the coefficient/ });

    const nanModel = path.join(outputs, 'nan-model');
    writeRandomCheckpoint({ architecture: 'qwen2', layers: 1, seed: 4, dir: nanModel });
    const weights = path.join(nanModel, 'model.safetensors');
    const bytes = readFileSync(weights);
    const headerLength = Number(bytes.readBigUInt64LE(0));
    bytes.writeFloatLE(Infinity, 8 + headerLength + 64); // inside the first tensor (embeddings)
    writeFileSync(weights, bytes);
    await run('weight holds Inf', ['generate', '--model', nanModel, '--prompt', 'hi', '--cache-dir', cache], { code: 1, message: /weight "model\.embed_tokens\.weight" holds Infinity/ });
  });

  it('a vector whose calibration is damaged is screened without it, with a notice naming the file', async () => {
    const damaged = path.join(outputs, 'damaged-calibration.safetensors');
    const d = 32;
    const dist = distribution([1, 2, 3]);
    const metrics = { projection: dist, fastDelta: dist, delta: dist };
    // A calibration in every other way, but with an own-answer length no run can have.
    const calibration = { version: 1 as const, layer: 1, negative: metrics, positive: metrics, monitor: { antiEliciting: dist, eliciting: dist }, ownResponseTokens: -3 };
    const zeros = () => new Float32Array(3 * d);
    writePersonaVector(damaged, {
      trait: 'gloomy', rows: 3, d, vectors: { response_avg: new Float32Array(3 * d).map((_, i) => Math.cos(i)), prompt_avg: zeros(), prompt_last: zeros() }, keptPairs: 1, totalPairs: 1, separation: [],
      residualNorms: new Float32Array(3), vectorNorms: new Float64Array(3), sweep: [], judge: 'x', cacheFolder: work, recommended: { layer: 1, coefficient: 2 } as ExtractionResult['recommended'], calibration,
    }, { model: 'm', modelFingerprint: 'f', architecture: 'qwen2', traitHash: 'h' });
    await run('vector with a damaged calibration', ['screen', dataset, '--model', model, '--vector', damaged, '--metric', 'projection', '--cache-dir', cache], { code: 0, message: /damaged-calibration\.safetensors carries a calibration that cannot be read .*re-extract it.*95th percentile of this file/s });
  });

  it('a corrupt cached graph is discarded and rebuilt, with a log line', async () => {
    const own = path.join(work, 'heal-cache');
    const out = path.join(outputs, 'acts.safetensors');
    await run('activations (fills the cache)', ['activations', '--model', model, '--text', 'hi', '--out', out, '--cache-dir', own], { code: 0 });
    const models = path.join(own, 'models');
    const graph = path.join(models, readdirSync(models)[0], 'model.onnx');
    truncateSync(graph, Math.floor(statSync(graph).size / 2));
    const healed = await run('activations after truncating model.onnx', ['activations', '--model', model, '--text', 'hi', '--out', out, '--cache-dir', own], { code: 0 });
    assert.match(healed.err.join('\n'), /cache: .* does not load .*discarded and rebuilt/);
  });

  it('a truncated cached activation file is discarded (with a log line) and recomputed, not a RangeError', () => {
    const logs: string[] = [];
    const store = new ExtractionStore(path.join(work, 'store-cache'), 'fp', 'trait', (line) => logs.push(line));
    const rows = 3;
    const d = 4;
    const means = Object.fromEntries(ACTIVATION_VARIANTS.map((v) => [v, new Float32Array(rows * d).fill(1)])) as ConversationActivations['means'];
    store.addActivations('k', { means, responseNorms: new Float32Array(rows).fill(2) });
    assert.deepEqual(store.activations('k', rows, d)?.responseNorms, new Float32Array(rows).fill(2));
    const file = path.join(store.folder, 'acts', 'k.f32');
    truncateSync(file, statSync(file).size - 3);
    assert.equal(store.activations('k', rows, d), undefined);
    assert.match(logs.join('\n'), /cache: discarded .*k\.f32 .*recomputing it/);
    assert.throws(() => statSync(file), 'the corrupt entry is removed');
  });

  it('long samples are reported per line against the model context; huge lines are refused by size', async () => {
    const r = await run('screen a sample past the context', screen(), { code: 0 });
    assert.match(r.err.join('\n'), /data\.jsonl:3: the sample has \d+ tokens, over the model's 96-position context: skipped/);
    const huge = path.join(outputs, 'huge.jsonl');
    writeFileSync(huge, `${readFileSync(dataset, 'utf8').split('\n')[0]}\n{"prompt": "x", "response": "${'y'.repeat(1_100_000)}"}\n`);
    const h = await run('screen a 1.1 M-character line', ['screen', huge, '--model', model, '--vector', vector, '--layer', '1', '--metric', 'projection', '--cache-dir', cache], { code: 0 });
    assert.match(h.err.join('\n'), /huge\.jsonl:2: this sample is 1\.1 M characters, over the 1 M limit/);
  });

  it('bytes that are not UTF-8 are reported on their line (JSONL) or for the file (JSON), never replaced silently', async () => {
    const latin1 = path.join(outputs, 'latin1.jsonl');
    const good = readFileSync(dataset, 'utf8').split('\n')[0];
    writeFileSync(latin1, Buffer.concat([Buffer.from(`${good}\n`), Buffer.from('{"prompt": "caf'), Buffer.from([0xe9]), Buffer.from('", "response": "ok"}\n')]));
    const r = await run('screen a latin-1 line', ['screen', latin1, '--model', model, '--vector', vector, '--layer', '1', '--metric', 'projection', '--cache-dir', cache], { code: 0 });
    assert.match(r.err.join('\n'), /latin1\.jsonl:2: this line holds bytes that are not UTF-8/);
    const array = path.join(outputs, 'latin1.json');
    writeFileSync(array, Buffer.concat([Buffer.from(`[\n${good},\n{"prompt": "caf`), Buffer.from([0xe9]), Buffer.from('", "response": "ok"}\n]\n')]));
    const a = await run('screen a latin-1 JSON array', ['screen', array, '--model', model, '--vector', vector, '--layer', '1', '--metric', 'projection', '--cache-dir', cache], { code: 1, message: /latin1\.json:3: the file holds bytes that are not UTF-8/ });
    assert.match(a.err.join('\n'), /no sample could be scored/);
  });

  it('kill -9 mid-extraction, then the same command: it resumes from the cache and writes a valid vector; no temp file is left', async function () {
    const cliJs = path.join(__dirname, '..', '..', 'dist', 'cli.js');
    if (!existsSync(cliJs)) this.skip(); // npm test and npm run hostile build it first
    const out = path.join(outputs, 'evil.safetensors');
    const own = path.join(work, 'kill-cache');
    const argv = [cliJs, 'extract', '--model', ORGANISM, '--trait', path.join(ORGANISM, 'traits', 'evil.json'), '--out', out, '--no-sweep', '--max-tokens', '16', '--cache-dir', own];
    const killed = await new Promise<{ done: number; signal: NodeJS.Signals | null }>((resolve) => {
      const child = spawn(process.execPath, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
      let done = 0;
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (chunk: string) => {
        const m = /rollouts: (\d+)\//.exec(chunk);
        if (m && Number(m[1]) >= 8 && done === 0) {
          done = Number(m[1]);
          child.kill('SIGKILL');
        }
      });
      child.on('exit', (_code, signal) => resolve({ done, signal }));
    });
    assert.equal(killed.signal, 'SIGKILL', 'killed mid-run');
    assert.ok(!existsSync(out), 'nothing written before the end');
    const rolloutLines = () => {
      const folder = path.join(own, 'extraction');
      return readdirSync(folder).reduce((n, f) => n + readFileSync(path.join(folder, f, 'rollouts.jsonl'), 'utf8').split('\n').filter(Boolean).length, 0);
    };
    const cached = rolloutLines();
    assert.ok(cached >= killed.done, `the rollouts made before the kill are in the cache (${cached})`);
    const resumed = await cli(argv.slice(1));
    table.push({ name: `extract killed at ${killed.done} rollouts, then rerun`, code: resumed.code, first: resumed.out[0] ?? '' });
    assert.equal(resumed.code, 0, resumed.err.join('\n'));
    assert.match(resumed.out.join('\n'), /evil: kept \d+\/\d+ pairs/);
    assert.equal(readPersonaVector(out).rows, 6);
    const [keptPairs, totalPairs] = resumed.out[0].match(/kept (\d+)\/(\d+)/)!.slice(1).map(Number);
    assert.ok(keptPairs > 0);
    assert.equal(rolloutLines(), 2 * totalPairs, 'the rerun made only the missing rollouts (each pair once, none twice)');
    assert.deepEqual(readdirSync(outputs).filter((f) => f.endsWith('.tmp')), []);
  });

  it('GGUF model files and Ollama names: truncated, not GGUF, another architecture, a missing Ollama model', async () => {
    const good = writeGgufModel(model, path.join(inputs, 'model.gguf'));
    const bytes = readFileSync(good);
    const cut = path.join(inputs, 'cut.gguf');
    writeFileSync(cut, bytes.subarray(0, bytes.length - 64));
    const notGguf = path.join(inputs, 'notes.gguf');
    writeFileSync(notGguf, 'these are my notes, not a model');
    const mamba = writeGgufModel(model, path.join(inputs, 'mamba.gguf'), { metadata: [['general.architecture', { type: 'string', value: 'mamba' }]] });
    const activations = (m: string, out = path.join(outputs, 'acts.safetensors')) => ['activations', '--model', m, '--text', 'hi', '--out', out, '--cache-dir', cache];
    await run('activations --model truncated.gguf', activations(cut), { code: 1, message: /cut\.gguf: tensor ".*" data .* runs past the end of the file .*truncated download\?/ });
    await run('activations --model notes.gguf (not GGUF)', activations(notGguf), { code: 1, message: /notes\.gguf is a file, but not a GGUF model/ });
    await run('activations --model mamba.gguf', activations(mamba), { code: 1, message: /mamba\.gguf: architecture "mamba" is not supported; supported GGUF architectures: llama, qwen2, qwen3/ });
    const saved = process.env.OLLAMA_MODELS;
    process.env.OLLAMA_MODELS = path.join(work, 'no-ollama-here');
    try {
      await run('activations --model ollama:llama3.2 (not pulled)', activations('ollama:llama3.2'), { code: 1, message: /Ollama model llama3\.2:latest: there is no Ollama store at .*set OLLAMA_MODELS/ });
    } finally {
      if (saved === undefined) delete process.env.OLLAMA_MODELS;
      else process.env.OLLAMA_MODELS = saved;
    }
    await run('activations --model M.gguf (works)', activations(good), { code: 0 });
  });

  it('a temp file left by a killed writer is removed by the next write of that file', () => {
    const target = path.join(outputs, 'report.json');
    const stale = path.join(outputs, '.report.json.999999999.0badc0de.tmp');
    writeFileSync(stale, 'half a report');
    writeFileAtomic(target, '{}');
    assert.ok(!existsSync(stale), 'the stale temp is gone');
    assert.equal(readFileSync(target, 'utf8'), '{}');
  });

  it('the CI gate: a score that is not finite fails it (exit 3) whatever --fail-above says', () => {
    const sample = (line: number, projection: number) => ({ kind: 'scored', startLine: line, scores: { evil: { projection, fastDelta: 0 } } }) as unknown as ScreenedSample;
    assert.equal(screeningGate([sample(1, 1), sample(2, 2)], ['evil'], 'projection', 5, 'd.jsonl').code, 'pass');
    assert.equal(screeningGate([sample(1, 1), sample(2, 7)], ['evil'], 'projection', 5, 'd.jsonl').code, 'over');
    const nan = screeningGate([sample(1, 1), sample(2, NaN), sample(3, NaN)], ['evil'], 'projection', 1e9, 'd.jsonl');
    assert.equal(nan.code, 'not-finite');
    assert.match(nan.message!, /2 samples have no finite projection score \(first at d\.jsonl:2\)/);
    assert.equal(screeningGate([sample(1, Infinity)], ['evil'], 'projection', undefined, 'd.jsonl').code, 'not-finite', 'even without --fail-above');
  });

  it('a safetensors header whose tensors overlap is refused, naming both tensors', async () => {
    const crafted = path.join(outputs, 'overlap-model');
    writeRandomCheckpoint({ architecture: 'qwen2', layers: 1, seed: 6, dir: crafted });
    const file = path.join(crafted, 'model.safetensors');
    const bytes = readFileSync(file);
    const headerLength = Number(bytes.readBigUInt64LE(0));
    const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8'));
    // Point the final norm (32 F32 values) into the middle of the embeddings' bytes.
    header['model.norm.weight'].data_offsets = [64, 64 + 32 * 4];
    let json = JSON.stringify(header);
    json += ' '.repeat(Math.max(0, headerLength - Buffer.byteLength(json)));
    assert.equal(Buffer.byteLength(json), headerLength, 'same header size, so the data stays where it was');
    bytes.write(json, 8, 'utf8');
    writeFileSync(file, bytes);
    await run('safetensors with overlapping data_offsets', ['generate', '--model', crafted, '--prompt', 'hi', '--cache-dir', cache], { code: 1, message: /tensors "model\.embed_tokens\.weight" and "model\.norm\.weight" overlap in data_offsets/ });
  });

  it('a control vector whose model_hint names another architecture is imported with a warning', async () => {
    const gguf = path.join(outputs, 'llama-hint.gguf');
    exportControlVector(gguf, new Float32Array(3 * 32).fill(0.1), 3, 32, 'llama');
    const r = await run('import-gguf with model_hint llama onto qwen2', ['import-gguf', gguf, '--model', model, '--out', path.join(outputs, 'imported.safetensors')], { code: 0 });
    assert.match(r.err.join('\n'), /warning: .*llama-hint\.gguf names model_hint "llama", but .* is a qwen2 model/);
  });

  it('a vector from another model is named in a warning', async () => {
    const foreign = path.join(outputs, 'foreign.safetensors');
    const d = 32;
    writeSafetensors(foreign, [{ name: 'response_avg', dtype: 'F32', shape: [3, d], data: new Float32Array(3 * d).fill(0.2) }], { trait: 'evil', recommendedLayer: '1', modelFingerprint: 'deadbeefdeadbeef', architecture: 'llama', model: 'Llama-3.1-8B' });
    const r = await run('screen with a llama vector on qwen2', ['screen', dataset, '--model', model, '--vector', foreign, '--metric', 'projection', '--cache-dir', cache], { code: 0 });
    assert.match(r.err.join('\n'), /warning: .*foreign\.safetensors was extracted on a llama model \(Llama-3\.1-8B\)/);
  });

  function linkTo(target: string, name: string): string {
    const link = path.join(outputs, name);
    rmSync(link, { force: true });
    symlinkSync(target, link);
    return link;
  }

  function hardLinkTo(target: string, name: string): string {
    const link = path.join(inputs, name);
    rmSync(link, { force: true });
    linkSync(target, link);
    return link;
  }
});
