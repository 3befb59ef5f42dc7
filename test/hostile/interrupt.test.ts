/**
 * Ctrl+C on the built CLI (`node dist/cli.js`), extracting on the bundled organism: one SIGINT stops at the next
 * checkpoint with exit 130 and a cache the same command resumes from; a second SIGINT exits at once with 130.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ORGANISM } from '../helpers/organism';
import { readPersonaVector } from '../../src/core/vectors/personaVectorFile';

const CLI_JS = path.join(__dirname, '..', '..', 'dist', 'cli.js');
const TRAIT = path.join(ORGANISM, 'traits', 'evil.json');

interface Interrupted {
  code: number | null;
  err: string;
  /** Rollouts the progress line had reported when the first SIGINT was sent. */
  seen: number;
}

/** Runs the CLI, sends SIGINT once the first rollouts are reported, and (with 2) a second one once the first is acknowledged. */
function runInterrupted(argv: string[], sigints: 1 | 2): Promise<Interrupted> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_JS, ...argv], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    let seen = 0;
    let acknowledged = false;
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      err += chunk;
      const m = /rollouts: (\d+)\//.exec(err);
      if (m && seen === 0) {
        seen = Number(m[1]);
        // With two, wait until the next batch is under way: a SIGINT that lands on the checkpoint right after this
        // report stops there, cleanly, before a second one could arrive.
        if (sigints === 1) child.kill('SIGINT');
        else setTimeout(() => child.kill('SIGINT'), 1000);
      }
      if (sigints === 2 && !acknowledged && err.includes('press Ctrl+C again')) {
        acknowledged = true;
        child.kill('SIGINT');
      }
    });
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, err, seen }));
  });
}

/** Rollout records in the cache, each a whole JSON line (a torn one would fail to parse). */
function cachedRollouts(cacheRoot: string): number {
  const folder = path.join(cacheRoot, 'extraction');
  return readdirSync(folder).reduce((n, f) => {
    const file = path.join(folder, f, 'rollouts.jsonl');
    return n + (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)).length : 0);
  }, 0);
}

describe('Ctrl+C in the CLI (built dist/cli.js on the organism)', function () {
  let work: string;
  before(function () {
    if (!existsSync(CLI_JS)) this.skip(); // npm test and npm run hostile build it first
    work = mkdtempSync(path.join(os.tmpdir(), 'persona-lens-interrupt-'));
  });
  after(() => work && rmSync(work, { recursive: true, force: true }));

  it('one Ctrl+C: stops between batches, exit 130, says so; the same command resumes from the cache', async () => {
    const out = path.join(work, 'evil.safetensors');
    const cache = path.join(work, 'cache-once');
    const argv = ['extract', '--model', ORGANISM, '--trait', TRAIT, '--out', out, '--no-sweep', '--max-tokens', '16', '--cache-dir', cache];
    const stopped = await runInterrupted(argv, 1);
    assert.equal(stopped.code, 130, stopped.err);
    assert.match(stopped.err, /stopping after the current batch; press Ctrl\+C again to exit now/);
    assert.match(stopped.err, /persona-lens extract: stopped by Ctrl\+C\. Finished work is cached .*the same command resumes from it/);
    assert.doesNotMatch(stopped.err, /^\s+at /m, 'no stack trace');
    assert.ok(!existsSync(out), 'no vector written by a stopped run');
    const cached = cachedRollouts(cache);
    const total = Number(/rollouts: \d+\/(\d+)/.exec(stopped.err)![1]);
    assert.ok(cached >= stopped.seen && cached < total, `stopped mid-way with whole records: ${cached} of ${total} rollouts cached`);

    const resumed = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(process.execPath, [CLI_JS, ...argv], { stdio: ['ignore', 'pipe', 'ignore'] });
      let text = '';
      child.stdout.setEncoding('utf8').on('data', (c: string) => (text += c));
      child.on('exit', (code) => resolve({ code, out: text }));
    });
    assert.equal(resumed.code, 0);
    assert.match(resumed.out, /evil: kept \d+\/\d+ pairs/);
    assert.equal(readPersonaVector(out).rows, 6);
    assert.equal(cachedRollouts(cache), total, 'the rerun made only the rollouts the stopped run had not (none twice)');
  });

  it('a second Ctrl+C exits at once with 130, abandoning the batch in progress', async () => {
    const out = path.join(work, 'evil-twice.safetensors');
    const cache = path.join(work, 'cache-twice');
    // Four sampled answers per pair in batches of 320: on the organism a batch of full-length rollouts lasts seconds, so
    // both Ctrl+Cs land inside the second batch (each is seen within one decoding step). With the default batch of 32
    // a batch lasts about as long as the test waits, and could end, and stop cleanly, before the second arrives.
    const stopped = await runInterrupted(['extract', '--model', ORGANISM, '--trait', TRAIT, '--out', out, '--no-sweep', '--samples', '4', '--batch', '320', '--cache-dir', cache], 2);
    assert.equal(stopped.code, 130, stopped.err);
    assert.match(stopped.err, /press Ctrl\+C again to exit now\ninterrupted\n/);
    assert.doesNotMatch(stopped.err, /stopped by Ctrl\+C/, 'it did not wait for the clean stop');
    assert.ok(!existsSync(out));
    const total = Number(/rollouts: \d+\/(\d+)/.exec(stopped.err)![1]);
    assert.ok(cachedRollouts(cache) < total, 'the run did not go on');
  });
});
