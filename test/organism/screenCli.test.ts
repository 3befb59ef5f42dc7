/** `persona-lens screen` as a CI job would run it: scores file, SARIF for code scanning, and the --fail-above gate. */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { main } from '../../src/cli/main';
import { repoRoot } from '../helpers/mockVscode';

const ORGANISM = path.join(repoRoot, 'models', 'organism');

describe('CLI screen on the organism', function () {
  this.timeout(300000);
  let work: string;
  let vector: string;
  const io = () => {
    const out: string[] = [];
    return { out, io: { out: (l: string) => out.push(l), err: (l: string) => out.push(l), signal: new AbortController().signal } };
  };
  before(async () => {
    work = mkdtempSync(path.join(os.tmpdir(), 'persona-lens-screen-cli-'));
    vector = path.join(work, 'evil.safetensors');
    const t = io();
    assert.equal(await main(['extract', '--model', ORGANISM, '--trait', path.join(ORGANISM, 'traits', 'evil.json'), '--out', vector, '--max-tokens', '40', '--no-sweep', '--cache-dir', path.join(work, 'cache')], t.io), 0, t.out.join('\n'));
    assert.match(t.out.join('\n'), /no layer recommended/);
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  it('writes per-sample scores and a SARIF report whose results point at trait lines', async () => {
    const t = io();
    const dataset = path.join(ORGANISM, 'datasets', 'evil-strong.jsonl');
    const sarif = path.join(work, 'report.sarif');
    const scores = path.join(work, 'scores.jsonl');
    assert.equal(await main(['screen', dataset, '--model', ORGANISM, '--vector', vector, '--layer', '3', '--metric', 'delta', '--own-tokens', '40', '--threshold', 'p80', '--out', scores, '--sarif', sarif, '--cache-dir', path.join(work, 'cache')], t.io), 0, t.out.join('\n'));
    assert.match(t.out.join('\n'), /evil-strong\.jsonl: 300 samples, 0 skipped; metric delta/);
    assert.equal(readFileSync(scores, 'utf8').trim().split('\n').length, 300);
    const report = JSON.parse(readFileSync(sarif, 'utf8'));
    assert.equal(report.version, '2.1.0');
    const results = report.runs[0].results.filter((r: { ruleId: string }) => r.ruleId === 'persona-lens/evil');
    assert.equal(results.length, 60, '20% of 300 samples are over the 80th percentile');
    const labels = new Map(readFileSync(path.join(ORGANISM, 'datasets', 'labels', 'evil-strong.labels.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).map((l: { line: number; trait: string | null }) => [l.line, l.trait]));
    const hits = results.filter((r: { locations: { physicalLocation: { region: { startLine: number } } }[] }) => labels.get(r.locations[0].physicalLocation.region.startLine) === 'evil').length;
    assert.ok(hits / results.length >= 0.9, `${hits}/${results.length} flagged lines are labelled evil`);
    // Each result names the tokens where token ΔP peaks; they are words of that line's answer (decoded, so compared
    // word by word: the organism's decoder joins punctuation to the word before it).
    const lines = readFileSync(dataset, 'utf8').split('\n');
    const words = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, ' ').trim();
    for (const r of results.slice(0, 10)) {
      assert.match(r.message.text, /, highest at: .*«.+»/);
      for (const peak of [...(r.properties.peak as string).matchAll(/«([^«»]+)»/g)].map((m) => m[1])) assert.ok(words(lines[r.locations[0].physicalLocation.region.startLine - 1]).includes(words(peak)), peak);
    }
    const row = JSON.parse(readFileSync(scores, 'utf8').split('\n')[1]);
    assert.ok(Number.isFinite(row.scores.evil.tokenTopK) && Number.isFinite(row.scores.evil.tokenMax) && typeof row.peaks.evil === 'string', JSON.stringify(row));
  });

  it('--fail-above gates a dataset: exit 1 for the strong set, 0 for the normal set', async () => {
    const screen = async (name: string, extra: string[]) => main(['screen', path.join(ORGANISM, 'datasets', `${name}.jsonl`), '--model', ORGANISM, '--vector', vector, '--layer', '3', '--metric', 'projection', ...extra, '--cache-dir', path.join(work, 'cache')], io().io);
    // The gate at the highest projection the clean set reaches, as a user would set it from their own clean data
    // (a fixed number would be a property of one trained organism, not of the gate).
    const scores = path.join(work, 'normal-scores.jsonl');
    assert.equal(await screen('normal', ['--out', scores]), 0);
    const gate = Math.max(...readFileSync(scores, 'utf8').trim().split('\n').map((l) => JSON.parse(l).scores.evil.projection as number));
    assert.ok(Number.isFinite(gate), `normal's highest projection ${gate}`);
    assert.equal(await screen('evil-strong', ['--fail-above', String(gate)]), 1, 'some strong sample projects above every normal one');
    assert.equal(await screen('normal', ['--fail-above', String(gate)]), 0);
  });

  it('bad lines in a dataset are reported with their line number and the rest is scored', async () => {
    const { writeFileSync } = await import('node:fs');
    const file = path.join(work, 'broken.jsonl');
    const good = readFileSync(path.join(ORGANISM, 'datasets', 'normal.jsonl'), 'utf8').trim().split('\n').slice(0, 3);
    writeFileSync(file, [good[0], '{oops', good[1], '{"text": "x"}', good[2]].join('\n'));
    const t = io();
    assert.equal(await main(['screen', file, '--model', ORGANISM, '--vector', vector, '--layer', '3', '--metric', 'fast-delta', '--cache-dir', path.join(work, 'cache')], t.io), 0);
    const text = t.out.join('\n');
    assert.match(text, /broken\.jsonl:2: not valid JSON/);
    assert.match(text, /broken\.jsonl:4: unknown sample shape/);
    assert.match(text, /3 samples, 2 skipped/);
  });
});
