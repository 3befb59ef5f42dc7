import assert from 'node:assert/strict';
import { main } from '../../src/cli/main';
import { parseArgs, UsageError } from '../../src/cli/args';
import { VERSION } from '../../src/core/version';

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l), signal: new AbortController().signal } };
}

describe('CLI', () => {
  it('--help lists the subcommands', async () => {
    const t = io();
    assert.equal(await main(['--help'], t.io), 0);
    for (const name of ['activations', 'generate', 'self-check']) assert.match(t.out.join('\n'), new RegExp(`\\n  ${name} `));
  });
  it('an unknown command exits 2 with help', async () => {
    const t = io();
    assert.equal(await main(['frobnicate'], t.io), 2);
    assert.match(t.err.join('\n'), /Unknown command "frobnicate"/);
  });
  it('self-check runs onnxruntime in process and passes', async () => {
    const t = io();
    assert.equal(await main(['self-check', '--runs', '2', '--size', '64'], t.io), 0);
    assert.match(t.out.join('\n'), /self-check passed/);
  });
  it('self-check --device: cpu by default; auto says what it picks and why', async () => {
    const cpu = io();
    assert.equal(await main(['self-check', '--runs', '1', '--size', '32', '--device', 'cpu'], cpu.io), 0, cpu.err.join('\n'));
    assert.match(cpu.out[0], /^onnxruntime [\d.]+ on cpu: 1 runs/);
    const auto = io();
    assert.equal(await main(['self-check', '--runs', '1', '--size', '32', '--device', 'auto'], auto.io), 0, auto.err.join('\n'));
    assert.match(auto.out[0], /^device: (cpu|webgpu|cuda|dml|coreml) \(auto: .+\)$/);
    const bad = io();
    assert.equal(await main(['self-check', '--device', 'gpu'], bad.io), 2);
    assert.match(bad.err[0], /^--device must be auto, cpu, webgpu, cuda, dml, coreml \(got gpu\)/);
  });
  it('bad option values are usage errors (exit 2)', async () => {
    const t = io();
    assert.equal(await main(['self-check', '--runs', 'many'], t.io), 2);
    assert.match(t.err.join('\n'), /--runs must be an integer/);
  });
  it('parseArgs rejects unknown options and missing values', () => {
    assert.throws(() => parseArgs(['--x'], []), UsageError);
    assert.throws(() => parseArgs(['--model'], [{ name: 'model', kind: 'string', description: '' }]), /needs a value/);
    assert.deepEqual(parseArgs(['a', '--model=m', '--chat'], [{ name: 'model', kind: 'string', description: '' }, { name: 'chat', kind: 'flag', description: '' }]), {
      options: { model: 'm', chat: true },
      positionals: ['a'],
      help: false,
    });
  });
  it('VERSION matches package.json', () => {
    assert.equal(VERSION, require('../../package.json').version);
  });
});
