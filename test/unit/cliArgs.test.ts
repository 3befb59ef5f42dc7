import assert from 'node:assert/strict';
import { closestOption, formatOptions, normaliseArgv, parseArgs, UsageError, type OptionSpec } from '../../src/cli/args';
import { main } from '../../src/cli/main';
import { COMMANDS } from '../../src/cli/commands/index';
import { JUDGE_OPTIONS, judgeSpecFromArgs } from '../../src/cli/judgeOptions';

const SPECS: OptionSpec[] = [
  { name: 'model', kind: 'string', description: 'model', required: true },
  { name: 'prompt', kind: 'string', description: 'prompt' },
  { name: 'coef', kind: 'string', description: 'coefficient' },
  { name: 'chat', kind: 'flag', description: 'chat' },
  { name: 'vector', kind: 'string', description: 'vector', multiple: true },
];

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l), signal: new AbortController().signal } };
}

describe('CLI arguments (node:util parseArgs behind one normalisation)', () => {
  it('--x=y and --x y give the same value; flags are true; positionals are kept in order', () => {
    const a = parseArgs(['in.jsonl', '--model=m', '--coef', '2', '--chat', 'more'], SPECS);
    assert.deepEqual(a.options, { model: 'm', coef: '2', chat: true });
    assert.deepEqual(a.positionals, ['in.jsonl', 'more']);
    assert.equal(a.help, false);
  });

  it('a string option takes the next token whatever it looks like: negative numbers, -h, --help, a dash', () => {
    assert.equal(parseArgs(['--model', 'm', '--coef', '-4'], SPECS).options.coef, '-4');
    assert.equal(parseArgs(['--model', 'm', '--coef', '-1e-3'], SPECS).options.coef, '-1e-3');
    const h = parseArgs(['--model', 'm', '--prompt', '-h'], SPECS);
    assert.equal(h.options.prompt, '-h');
    assert.equal(h.help, false, '-h as a prompt is not a request for help');
    assert.equal(parseArgs(['--model', 'm', '--prompt', '--help'], SPECS).options.prompt, '--help');
    assert.equal(parseArgs(['--model', 'm', '--prompt', '-'], SPECS).options.prompt, '-');
    assert.equal(parseArgs(['--model', 'm', '--prompt=a=b'], SPECS).options.prompt, 'a=b');
  });

  it('the normalisation only joins a string option with its value, and stops at --', () => {
    assert.deepEqual(normaliseArgv(['--coef', '-4', '--chat', 'x', '--', '--coef', '5'], SPECS), ['--coef=-4', '--chat', 'x', '--', '--coef', '5']);
    assert.deepEqual(normaliseArgv(['--chat', '--coef'], SPECS), ['--chat', '--coef'], 'a trailing string option is left for parseArgs to refuse');
  });

  it('after -- every token is a positional', () => {
    const a = parseArgs(['--model', 'm', '--', '--chat', '-4'], SPECS);
    assert.deepEqual(a.positionals, ['--chat', '-4']);
    assert.equal(a.options.chat, undefined);
  });

  it('a repeated option is an error unless it is multiple', () => {
    assert.throws(() => parseArgs(['--model', 'a', '--model', 'b'], SPECS), (e: Error) => e instanceof UsageError && e.message === '--model is given twice');
    assert.throws(() => parseArgs(['--model', 'a', '--chat', '--chat'], SPECS), /--chat is given twice/);
    assert.throws(() => parseArgs(['--model=a', '--model', 'a'], SPECS), /--model is given twice/, 'both spellings count');
    assert.deepEqual(parseArgs(['--model', 'm', '--vector', 'a', '--vector=b'], SPECS).options.vector, ['a', 'b']);
  });

  it('an unknown option is a usage error naming it, with a suggestion when one option is close', () => {
    assert.throws(() => parseArgs(['--modle', 'm'], SPECS), (e: Error) => e instanceof UsageError && e.message === 'Unknown option --modle (did you mean --model?)');
    assert.throws(() => parseArgs(['--promt=x', '--model', 'm'], SPECS), /Unknown option --promt \(did you mean --prompt\?\)/);
    assert.throws(() => parseArgs(['--frobnicate'], SPECS), (e: Error) => e.message === 'Unknown option --frobnicate');
    assert.throws(() => parseArgs(['-x', '--model', 'm'], SPECS), /Unknown option -x; a positional that starts with "-" goes after --/);
    assert.equal(closestOption('vec', SPECS), 'vector', 'a prefix of three letters or more');
    const topK: OptionSpec[] = [{ name: 'top-p', kind: 'string', description: '' }, { name: 'top-k', kind: 'string', description: '' }];
    assert.equal(closestOption('top-x', topK), undefined, 'two options equally close: no guess');
  });

  it('a flag given a value, a missing value and a missing required option are usage errors', () => {
    assert.throws(() => parseArgs(['--model', 'm', '--chat=yes'], SPECS), (e: Error) => e instanceof UsageError && e.message === '--chat takes no value (got --chat=yes)');
    assert.throws(() => parseArgs(['--model', 'm', '--coef'], SPECS), (e: Error) => e instanceof UsageError && e.message === '--coef needs a value');
    assert.throws(() => parseArgs(['--chat'], SPECS), (e: Error) => e instanceof UsageError && e.message === '--model is required');
  });

  it('a command that takes options only refuses a stray word (e.g. an unquoted prompt), naming it', async () => {
    assert.throws(() => parseArgs(['--model', 'm', 'hello'], SPECS, { positionals: false }), (e: Error) => e instanceof UsageError && e.message === 'unexpected argument "hello": this command takes options only (quote a value that has spaces)');
    assert.deepEqual(parseArgs(['--model', 'm', 'hello'], SPECS).positionals, ['hello']);
    const t = io();
    assert.equal(await main(['generate', '--model', 'm', '--prompt', 'why', 'not'], t.io), 2);
    assert.match(t.err[0], /^unexpected argument "not"/);
  });

  it('--help and -h need no required option; help wins over the rest', () => {
    assert.equal(parseArgs(['--help'], SPECS).help, true);
    assert.equal(parseArgs(['-h', '--chat'], SPECS).help, true);
  });

  it('through main: usage errors exit 2 with the usage line; --coef -4 reaches the command', async () => {
    const unknown = io();
    assert.equal(await main(['generate', '--model', 'm', '--prompt', 'p', '--max-token', '3'], unknown.io), 2);
    assert.match(unknown.err[0], /^Unknown option --max-token \(did you mean --max-tokens\?\)\nUsage: persona-lens generate /);
    // The vector path is checked before the model loads, so this fails on the missing file after --coef -4 parsed.
    const negative = io();
    assert.equal(await main(['generate', '--model', 'm', '--prompt', '-h', '--steer', 'missing.safetensors', '--layer', '2', '--coef', '-4'], negative.io), 1);
    assert.match(negative.err.join('\n'), /--steer missing\.safetensors/);
    assert.deepEqual(negative.out, [], 'a prompt of -h is not a help request');
  });
});

describe('CLI --help', () => {
  it('every command lists every option with the descriptions in one aligned column', async () => {
    for (const command of COMMANDS) {
      const t = io();
      assert.equal(await main([command.name, '--help'], t.io), 0);
      const text = t.out.join('\n');
      const lines = text.split('\n').slice(text.split('\n').indexOf('Options:') + 1);
      const starts = lines.filter((l) => l.startsWith('  --')).map((l) => /^ {2}--\S+(?: VALUE)? +/.exec(l)![0].length);
      assert.equal(starts.length, command.options.length + 1, `${command.name}: one line per option and --help`);
      assert.equal(new Set(starts).size, 1, `${command.name}: descriptions start in one column (${[...new Set(starts)].join(', ')})`);
      const column = starts[0];
      for (const l of lines.filter((l) => !l.startsWith('  --'))) assert.equal(/^ */.exec(l)![0].length, column, `${command.name}: a wrapped line continues under its description: "${l}"`);
      assert.ok(lines.every((l) => l.length <= 100), `${command.name}: lines fit 100 columns`);
    }
  });

  it('wraps a long description under its column and marks required and repeatable options', () => {
    const text = formatOptions([{ name: 'a', kind: 'string', description: 'word '.repeat(30).trim(), required: true }, { name: 'long-name', kind: 'flag', description: 'x', multiple: true }], 60);
    const lines = text.split('\n');
    assert.equal(lines[0].indexOf('word'), '  --long-name  '.length);
    assert.ok(lines.length > 3);
    assert.match(text, /\(required\)/);
    assert.match(text, /--long-name {2}x \(repeatable\)/);
    assert.ok(lines.every((l) => l.length <= 60), lines.join('\n'));
  });

  it('the judge key: PERSONA_LENS_JUDGE_API_KEY for any endpoint, OPENAI_API_KEY over https or to this machine, never in clear text across a network', () => {
    const keyFor = (url: string, env: NodeJS.ProcessEnv) => {
      const spec = judgeSpecFromArgs(parseArgs(['--judge', 'openai', '--judge-url', url, '--judge-model', 'm'], JUDGE_OPTIONS), 'lexicon', env);
      return spec.kind === 'openai' ? spec.apiKey : assert.fail(spec.kind);
    };
    const openai = { OPENAI_API_KEY: 'sk-openai' };
    for (const url of ['https://api.openai.com/v1', 'https://openrouter.example/api/v1', 'http://localhost:11434/v1', 'http://127.0.0.1:8080/v1', 'http://[::1]:1234/v1']) {
      assert.equal(keyFor(url, openai), 'sk-openai', url);
    }
    for (const url of ['http://api.openai.com/v1', 'http://192.168.1.20:8000/v1', 'http://localhost.evil.example/v1', 'http://127.0.0.1.evil.example/v1']) {
      assert.equal(keyFor(url, openai), undefined, url);
    }
    const own = { OPENAI_API_KEY: 'sk-openai', PERSONA_LENS_JUDGE_API_KEY: 'judge-key' };
    assert.equal(keyFor('http://localhost:11434/v1', own), 'judge-key');
    assert.equal(keyFor('https://api.openai.com/v1', own), 'judge-key');
  });
});
