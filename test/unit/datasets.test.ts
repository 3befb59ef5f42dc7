import assert from 'node:assert/strict';
import { distribution, parseCalibration, screeningOwnLength, type VectorCalibration } from '../../src/core/screening/calibration';
import { DEFAULT_OWN_RESPONSE_TOKENS } from '../../src/core/screening/screener';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readDataset, readJsonArray, type DatasetItem } from '../../src/core/datasets/datasetReader';
import { auroc, percentile, pearson } from '../../src/core/stats';
import { parseThresholds, resolveThreshold } from '../../src/core/screening/thresholds';

async function collect(it: AsyncIterable<DatasetItem> | Iterable<DatasetItem>): Promise<DatasetItem[]> {
  const out: DatasetItem[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('dataset reading', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'persona-lens-ds-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reads every supported shape from JSONL, with line numbers, and reports bad lines without stopping', async () => {
    const lines = [
      JSON.stringify({ messages: [{ role: 'system', content: 'S' }, { role: 'user', content: 'Q1' }, { role: 'assistant', content: 'A1' }] }),
      JSON.stringify({ conversations: [{ from: 'human', value: 'Q2' }, { from: 'gpt', value: 'A2' }] }),
      '',
      JSON.stringify({ instruction: 'Do X', input: 'with Y', output: 'A3' }),
      '{"prompt": "Q4", "completion": "A4"',
      JSON.stringify({ prompt: 'Q5', response: 'A5' }),
      JSON.stringify({ text: 'plain text' }),
      JSON.stringify({ prompt: 'Q7', completion: 'A7' }),
    ];
    const file = path.join(dir, 'mixed.jsonl');
    writeFileSync(file, lines.join('\n'));
    const items = await collect(readDataset(file));
    const samples = items.filter((i) => i.kind === 'sample');
    const issues = items.filter((i) => i.kind === 'issue');
    assert.deepEqual(samples.map((s) => [s.kind === 'sample' && s.format, s.startLine]), [
      ['messages', 1],
      ['sharegpt', 2],
      ['alpaca', 4],
      ['prompt-response', 6],
      ['prompt-completion', 8],
    ]);
    const alpaca = samples[2] as DatasetItem & { kind: 'sample' };
    assert.deepEqual(alpaca.prompt, [{ role: 'user', content: 'Do X\n\nwith Y' }]);
    assert.equal(alpaca.response, 'A3');
    const first = samples[0] as DatasetItem & { kind: 'sample' };
    assert.deepEqual(first.prompt.map((m) => m.role), ['system', 'user']);
    assert.deepEqual(issues.map((i) => i.startLine), [5, 7]);
    assert.match(issues[0].message, /not valid JSON/);
    assert.match(issues[1].message, /unknown sample shape/);
  });

  it('multi-turn: scores the last assistant turn by default, every turn on request', async () => {
    const file = path.join(dir, 'multi.jsonl');
    writeFileSync(file, JSON.stringify({ messages: [{ role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }, { role: 'user', content: 'c' }, { role: 'assistant', content: 'd' }] }));
    const last = (await collect(readDataset(file))).filter((i) => i.kind === 'sample') as (DatasetItem & { kind: 'sample' })[];
    assert.equal(last.length, 1);
    assert.equal(last[0].response, 'd');
    assert.equal(last[0].prompt.length, 3);
    const all = (await collect(readDataset(file, { turns: 'all' }))).filter((i) => i.kind === 'sample') as (DatasetItem & { kind: 'sample' })[];
    assert.deepEqual(all.map((s) => s.response), ['b', 'd']);
    assert.notEqual(all[0].hash, all[1].hash);
  });

  it('JSON arrays keep each element\'s line range; a selection limits the samples', () => {
    const text = `[\n  {"prompt": "q1",\n   "completion": "a1"},\n  {"prompt": "q2", "completion": "a, [b] {c}"},\n  {"prompt": "q3" "completion": "x"}\n]`;
    const items = [...readJsonArray(text)];
    assert.deepEqual(items.map((i) => [i.kind, i.startLine, i.endLine]), [['sample', 2, 3], ['sample', 4, 4], ['issue', 5, 5]]);
    assert.equal((items[1] as DatasetItem & { kind: 'sample' }).response, 'a, [b] {c}');
    assert.deepEqual([...readJsonArray(text, { lineRange: { start: 4, end: 4 } })].map((i) => i.startLine), [4]);
    assert.match([...readJsonArray('{"a": 1}')][0].kind === 'issue' ? ([...readJsonArray('{"a": 1}')][0] as { message: string }).message : '', /must be a JSON array/);
  });

  it('the content hash ignores where a sample sits in the file', async () => {
    const a = path.join(dir, 'a.jsonl');
    const b = path.join(dir, 'b.jsonl');
    const line = JSON.stringify({ prompt: 'same', completion: 'same' });
    writeFileSync(a, line);
    writeFileSync(b, `\n\n${line}`);
    const [x] = (await collect(readDataset(a))) as (DatasetItem & { kind: 'sample' })[];
    const [y] = (await collect(readDataset(b))) as (DatasetItem & { kind: 'sample' })[];
    assert.equal(x.hash, y.hash);
    assert.equal(y.startLine, 3);
  });
});

describe('statistics and thresholds', () => {
  it('AUROC: perfect, inverted, ties, and chance', () => {
    assert.equal(auroc([1, 2, 3, 4], [false, false, true, true]), 1);
    assert.equal(auroc([4, 3, 2, 1], [false, false, true, true]), 0);
    assert.equal(auroc([1, 1, 1, 1], [false, true, false, true]), 0.5);
    assert.equal(auroc([1, 3, 2, 4], [false, true, false, true]), 1);
    assert.equal(auroc([1, 2, 3, 4], [true, false, true, false]), 0.25);
    assert.throws(() => auroc([1], [true]), /both positive and negative/);
  });
  it('percentile interpolates; pearson', () => {
    assert.equal(percentile([1, 2, 3, 4, 5], 50), 3);
    assert.equal(percentile([0, 10], 95), 9.5);
    assert.ok(Math.abs(pearson([1, 2, 3], [2, 4, 6.5]) - 0.9989) < 1e-3);
  });
  it('thresholds: calibrated by default, values, percentiles, per-trait specs, clear errors', () => {
    const t = parseThresholds('evil=2.5,sycophantic=p90', ['evil', 'sycophantic', 'hallucinating']);
    assert.deepEqual(t.evil, { kind: 'value', value: 2.5 });
    assert.deepEqual(t.sycophantic, { kind: 'percentile', p: 90 });
    assert.deepEqual(t.hallucinating, { kind: 'calibrated' }, 'unnamed traits get the calibrated default');
    assert.deepEqual(parseThresholds(undefined, ['evil']).evil, { kind: 'calibrated' });
    const p50 = resolveThreshold({ kind: 'percentile', p: 50 }, [1, 2, 3], 'delta');
    assert.equal(p50.value, 2);
    assert.match(p50.rule, /50th percentile of this file's scores \(relative to this file\)/);
    // Anti-trait answers 0..100 (90th percentile 90), trait answers 100..200 (25th percentile 125): halfway is 107.5,
    // whatever the file.
    const dist = distribution(Array.from({ length: 101 }, (_, i) => i));
    const high = distribution(Array.from({ length: 101 }, (_, i) => 100 + i));
    const calibration: VectorCalibration = { version: 1, layer: 3, negative: { projection: dist, fastDelta: dist, delta: dist }, positive: { projection: high, fastDelta: high, delta: high }, monitor: { antiEliciting: dist, eliciting: high } };
    const calibrated = resolveThreshold({ kind: 'calibrated' }, [1000, 2000], 'fast-delta', { calibration });
    assert.equal(calibrated.value, 107.5);
    assert.equal(calibrated.rule, "halfway between the anti-trait answers' 90th percentile (90.00) and the trait answers' 25th (125.00), of the 101 pairs this vector was extracted from");
    assert.equal(calibrated.notice, undefined);
    const fallback = resolveThreshold({ kind: 'calibrated' }, [1, 2, 3, 4, 5], 'delta', { missing: 'old.safetensors has no calibration' });
    assert.equal(fallback.value, percentile([1, 2, 3, 4, 5], 95));
    assert.match(fallback.notice!, /old\.safetensors has no calibration; using the 95th percentile of this file instead/);
    assert.equal(parseCalibration(JSON.parse(JSON.stringify(calibration)))?.layer, 3, 'a calibration survives the JSON of a vector file');
    assert.equal(parseCalibration({ ...calibration, negative: { projection: dist } }), undefined, 'a damaged one is ignored');
    // A calibration from before the token metrics keeps working for the others; the token metrics fall back, saying why.
    const old = resolveThreshold({ kind: 'calibrated' }, [1, 2, 3, 4, 5], 'token-topk', { calibration: parseCalibration(JSON.parse(JSON.stringify(calibration))) });
    assert.equal(old.kind, 'percentile');
    assert.match(old.notice!, /calibration has no token ΔP top-8 \(it was extracted before that metric existed: extract again to calibrate it\); using the 95th percentile/);
    const withTokens: VectorCalibration = { ...calibration, negative: { ...calibration.negative, tokenMean: dist, tokenMax: dist, tokenTopK: dist }, positive: { ...calibration.positive, tokenMean: high, tokenMax: high, tokenTopK: high } };
    assert.equal(resolveThreshold({ kind: 'calibrated' }, [1], 'token-topk', { calibration: parseCalibration(JSON.parse(JSON.stringify(withTokens))) }).value, 107.5);
    assert.equal(parseCalibration({ ...withTokens, positive: { ...withTokens.positive, tokenMax: { n: 1 } } }), undefined, 'a damaged token distribution is not trusted');
    // The own-answer length: screening defaults to the calibration's, and says so when a run uses another one.
    const measured: VectorCalibration = { ...withTokens, ownResponseTokens: 48 };
    assert.equal(parseCalibration(JSON.parse(JSON.stringify(measured)))?.ownResponseTokens, 48);
    assert.equal(parseCalibration({ ...measured, ownResponseTokens: 0 }), undefined, 'a damaged length is not trusted');
    assert.equal(screeningOwnLength(undefined, [{ calibration: measured }, { calibration: measured }]), 48);
    assert.equal(screeningOwnLength(256, [{ calibration: measured }]), 256, 'the length asked for wins');
    assert.equal(screeningOwnLength(undefined, [{ calibration: measured }, { calibration: { ...measured, ownResponseTokens: 64 } }]), DEFAULT_OWN_RESPONSE_TOKENS, 'vectors that disagree get the default');
    assert.equal(screeningOwnLength(undefined, [{ calibration }, {}]), DEFAULT_OWN_RESPONSE_TOKENS, 'older calibrations record none');
    assert.equal(resolveThreshold({ kind: 'calibrated' }, [1], 'token-topk', { calibration: measured, ownResponseTokens: 48 }).notice, undefined);
    assert.match(resolveThreshold({ kind: 'calibrated' }, [1], 'token-topk', { calibration: measured, ownResponseTokens: 256 }).notice!, /against own answers of up to 48 tokens, this run against 256: screen with own answers of 48 tokens .*--own-tokens 48/);
    assert.equal(resolveThreshold({ kind: 'calibrated' }, [1], 'fast-delta', { calibration: measured, ownResponseTokens: 256 }).notice, undefined, 'fast ΔP never reads the own answer');
    assert.throws(() => parseThresholds('bogus=1', ['evil']), /unknown trait "bogus"/);
    assert.throws(() => parseThresholds('p200', ['evil']), /p0…p100/);
    assert.throws(() => parseThresholds('high', ['evil']), /must be calibrated, a number or a percentile/);
  });
});
