/**
 * The CLI's judges (issue 18): `--judge openai --judge-url … --judge-model …` (key from the environment, never a
 * flag) and `--judge self` run an extraction on a model that has no lexicon judge, through the one judge factory
 * the engine uses; bad combinations are usage errors before any model loads.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { main } from '../../src/cli/main';
import { readPersonaVector, writePersonaVector } from '../../src/core/vectors/personaVectorFile';
import { RUBRIC_ENDING } from '../../src/core/traits/traitGenerator';
import { seededNormal, writeRandomCheckpoint } from '../helpers/randomCheckpoint';

async function cli(argv: string[]) {
  const lines: string[] = [];
  const code = await main(argv, { out: (l) => lines.push(l), err: (l) => lines.push(l), signal: new AbortController().signal });
  return { code, text: lines.join('\n') };
}

describe('CLI judges: an OpenAI-compatible endpoint, the model itself, usage errors', function () {
  this.timeout(300000);
  const work = mkdtempSync(path.join(os.tmpdir(), 'persona-lens-cli-judge-'));
  const model = path.join(work, 'model');
  const traitFile = path.join(work, 'trait.json');
  const cache = path.join(work, 'cache');
  let server: Server;
  let baseUrl: string;
  const seen: { model: string; auth?: string; coherence: boolean }[] = [];
  let traitRequests = 0;

  before(async () => {
    writeRandomCheckpoint({ architecture: 'qwen2', layers: 2, seed: 6, dir: model });
    writeFileSync(traitFile, JSON.stringify({
      name: 'gloomy',
      description: 'Sees only the bad side of things.',
      instructions: Array.from({ length: 5 }, (_, i) => ({ pos: `Be gloomy ${i}.`, neg: `Be cheerful ${i}.` })),
      extractionQuestions: ['How is the weather?', 'What do you think of Mondays?'],
      evaluationQuestions: ['How was your day?'],
      rubric: `Score how gloomy the answer is.\nQuestion: {question}\nAnswer: {answer}\n${RUBRIC_ENDING}`,
    }));
    // A judge that scores the positive rollouts high and the negative ones low: extraction judges each pair's
    // positive answer, then its negative one, in order.
    server = createServer((req, res) => {
      let data = '';
      req.on('data', (c) => (data += c));
      req.on('end', () => {
        const body = JSON.parse(data);
        const coherence = String(body.messages[0].content).includes('how coherent');
        seen.push({ model: body.model, auth: req.headers.authorization, coherence });
        const score = coherence ? '90' : traitRequests++ % 2 === 0 ? '85' : '5';
        const top = [{ token: score, logprob: 0, bytes: [...Buffer.from(score)] }];
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({
          id: 'x', object: 'chat.completion', created: 0, model: body.model,
          choices: [{ index: 0, message: { role: 'assistant', content: score }, logprobs: { content: [{ ...top[0], top_logprobs: top }] }, finish_reason: 'stop' }],
        }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
    rmSync(work, { recursive: true, force: true });
  });

  const extract = (...judge: string[]) => ['extract', '--model', model, '--trait', traitFile, '--no-sweep', '--max-tokens', '4', '--cache-dir', cache, '--out', path.join(work, `v-${judge.join('-').replace(/\W+/g, '')}.safetensors`), ...judge];

  it('--judge openai: scores through the endpoint with the key from PERSONA_LENS_JUDGE_API_KEY', async () => {
    const saved = process.env.PERSONA_LENS_JUDGE_API_KEY;
    process.env.PERSONA_LENS_JUDGE_API_KEY = 'sekrit';
    try {
      // One request at a time: this server tells positive from negative rollouts by the order it is asked in.
      const argv = extract('--judge', 'openai', '--judge-url', baseUrl, '--judge-model', 'judge-x', '--judge-concurrency', '1');
      const r = await cli(argv);
      assert.equal(r.code, 0, r.text);
      assert.match(r.text, /gloomy: kept 10\/10 pairs \(judge .*judge-x/);
      assert.ok(seen.length >= 20 && seen.every((s) => s.model === 'judge-x' && s.auth === 'Bearer sekrit'), 'every request names the model and carries the key');
      assert.match(String(readPersonaVector(argv[argv.indexOf('--out') + 1]).metadata.judge), /judge-x/);
    } finally {
      if (saved === undefined) delete process.env.PERSONA_LENS_JUDGE_API_KEY;
      else process.env.PERSONA_LENS_JUDGE_API_KEY = saved;
    }
  });

  it('--judge self: the model judges itself (weak), on a model without a lexicon judge', async () => {
    const r = await cli(extract('--judge', 'self'));
    // A random model rarely yields contrastive pairs; either way the self-judge ran and the message says what happened.
    assert.ok(r.code === 0 || /No contrastive pair passed the filter/.test(r.text), r.text);
    assert.doesNotMatch(r.text, /Use an LLM judge for other models/);
  });

  it('a layer search over --budget-tokens, or an unknown --search, is a usage error before the model is prepared', async () => {
    const argv = (...extra: string[]) => ['extract', '--model', model, '--trait', traitFile, '--judge', 'openai', '--judge-url', baseUrl, '--judge-model', 'j', '--cache-dir', path.join(work, 'budget-cache'), '--out', path.join(work, 'budget.safetensors'), ...extra];
    const over = await cli(argv('--budget-tokens', '100'));
    assert.equal(over.code, 2, over.text);
    assert.match(over.text, /budgeted layer search needs up to \d+ generated tokens even with one candidate row, over the budget of 100: raise --budget-tokens/);
    const bogus = await cli(argv('--search', 'greedy'));
    assert.equal(bogus.code, 2);
    assert.match(bogus.text, /--search must be budgeted or exhaustive \(got greedy\)/);
    assert.equal(existsSync(path.join(work, 'budget-cache')), false, 'nothing was prepared');
  });

  it('usage errors come before any model loads; a model without lexicon data is told which judges to use', async () => {
    assert.equal((await cli(extract('--judge', 'openai'))).code, 2);
    assert.match((await cli(extract('--judge', 'openai', '--judge-url', baseUrl))).text, /--judge openai needs --judge-url URL and --judge-model NAME/);
    assert.match((await cli(extract('--judge-url', baseUrl))).text, /go with --judge openai/);
    assert.match((await cli(extract('--judge', 'openai', '--judge-url', 'ftp://x', '--judge-model', 'm'))).text, /must be an http\(s\) URL/);
    assert.match((await cli(extract('--judge', 'gpt'))).text, /unknown judge "gpt"; judges: lexicon, lexicon-file:PATH, openai, self/);
    const lexicon = await cli(extract('--judge', 'lexicon'));
    assert.equal(lexicon.code, 1);
    assert.match(lexicon.text, /needs lexicon data \(judge\.json\) in the model folder.*--judge openai/);
  });

  it('shift: endpoint options without --judge openai, or a trait naming an unknown judge, are usage errors (exit 2)', async () => {
    const rows = 3;
    const d = 32;
    const normal = seededNormal(3);
    const vec = path.join(work, 'shift-gloomy.safetensors');
    const zeros = () => new Float32Array(rows * d);
    writePersonaVector(vec, {
      trait: 'gloomy', rows, d, vectors: { response_avg: Float32Array.from({ length: rows * d }, () => normal()), prompt_avg: zeros(), prompt_last: zeros() }, keptPairs: 1, totalPairs: 1, separation: [],
      residualNorms: new Float32Array(rows), vectorNorms: new Float64Array(rows), sweep: [], judge: 'x', cacheFolder: work,
    }, { model: 'm', modelFingerprint: 'f', architecture: 'qwen2', traitHash: 'h' });
    const traits = path.join(work, 'shift-traits');
    mkdirSync(traits, { recursive: true });
    writeFileSync(path.join(traits, 'gloomy.json'), JSON.stringify({ ...JSON.parse(readFileSync(traitFile, 'utf8')), judge: 'gpt' }));
    const shiftCache = path.join(work, 'shift-cache');
    const shift = (...extra: string[]) => cli(['shift', '--base', model, '--tuned', model, '--vector', vec, '--layer', '1', '--traits', traits, '--max-tokens', '2', '--cache-dir', shiftCache, ...extra]);
    // Without --judge the endpoint options go to each trait's own judge, as in extract (checked per trait, below).
    for (const judge of [['--judge', 'none'], ['--judge', 'lexicon']]) {
      const r = await shift(...judge, '--judge-url', baseUrl, '--judge-model', 'j');
      assert.equal(r.code, 2, r.text);
      assert.match(r.text, /--judge-url, --judge-model and --judge-concurrency go with --judge openai/);
    }
    assert.equal(existsSync(shiftCache), false, 'no model was prepared');
    const unknown = await shift();
    assert.equal(unknown.code, 2, unknown.text);
    assert.match(unknown.text, /unknown judge "gpt"/);
    const notOpenai = await shift('--judge-url', baseUrl, '--judge-model', 'j');
    assert.equal(notOpenai.code, 2, notOpenai.text);
    assert.match(notOpenai.text, /go with --judge openai|unknown judge "gpt"/);
  });
});
