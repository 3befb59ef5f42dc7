/**
 * Issue 7's proof of the steering lab: a real sweep on the organism runs in the engine process (EngineClient, the
 * same client the extension uses), the host glue (SteeringLab) streams every finished cell as panel messages, and
 * the panel's own logic (message validation, withCell, chartSeries) turns them into the chart the user sees:
 * the evil score rises with α for the evil vector and stays flat for the norm-matched random direction.
 * Also the live monitor's engine method on the same vector.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { installVscodeMock, repoRoot } from '../helpers/mockVscode';
import { ORGANISM } from '../helpers/organism';
import { EngineClient } from '../../src/engine/client';
import { loadModel } from '../../src/core/model/loadedModel';
import { readTraitFile, traitHash } from '../../src/core/traits/traitFile';
import { LexiconJudge } from '../../src/core/judges/lexiconJudge';
import { extractPersonaVector } from '../../src/core/extraction/extract';
import { readPersonaVector, writePersonaVector } from '../../src/core/vectors/personaVectorFile';
import { writeSafetensors } from '../../src/core/model/safetensors';
import { parseHostToPanel, type HostToPanel, type SteeringLabResults } from '../../src/protocol/panelProtocol';
import { chartSeries, withCell } from '../../webview/src/steeringModel';

describe('steering lab on the organism, through the engine process (issue 7 proof)', function () {
  this.timeout(600000);
  installVscodeMock();
  // Loaded after the mock: the host glue imports `vscode`.
  const { SteeringLab } = require('../../src/extension/panel/steeringLabHost') as typeof import('../../src/extension/panel/steeringLabHost');
  let dir: string;
  let cacheRoot: string;
  let vectorPath: string;
  let client: EngineClient;

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'persona-lens-lab-'));
    cacheRoot = path.join(dir, 'cache');
    mkdirSync(path.join(dir, 'vectors'));
    vectorPath = path.join(dir, 'vectors', 'evil.organism.safetensors');
    // The evil vector (a short extraction; layer 3 is where the organism steers best).
    const model = await loadModel(ORGANISM, { cacheRoot });
    const trait = readTraitFile(path.join(ORGANISM, 'traits', 'evil.json'));
    const result = await extractPersonaVector(model, { ...trait, extractionQuestions: trait.extractionQuestions.slice(0, 8) }, LexiconJudge.fromFile(path.join(ORGANISM, 'judge.json')), { cacheRoot, maxTokens: 48, sweep: false });
    result.recommended = { layer: 3, coefficient: 3, meanTrait: 0, meanCoherence: 0 };
    writePersonaVector(vectorPath, result, { model: 'organism', modelFingerprint: model.checkpoint.fingerprint, architecture: 'qwen2', traitHash: traitHash(trait) });
    await model.session.release();
    client = new EngineClient({ enginePath: path.join(repoRoot, 'dist', 'engine.js'), cancelGraceMs: 10000 });
  });
  after(() => {
    client?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  const lab = (post: (m: HostToPanel) => void) =>
    new SteeringLab({
      engine: client,
      post,
      model: () => ({ modelPath: ORGANISM, cacheRoot, label: 'organism' }),
      judge: async () => ({ kind: 'lexicon' }),
      traitFolders: () => [],
      resultsFolder: () => dir,
      log: () => undefined,
    });

  /** What the webview does with each message: validate it (after a structured clone), then fold it into its results. */
  function panelReceives(messages: HostToPanel[]): { results: SteeringLabResults; finished: HostToPanel[]; cellsBeforeEnd: number } {
    let results: SteeringLabResults | undefined;
    const finished: HostToPanel[] = [];
    let cellsBeforeEnd = 0;
    for (const raw of messages) {
      const message = parseHostToPanel(structuredClone(raw));
      assert.ok(message, `the panel accepts ${JSON.stringify(raw).slice(0, 120)}`);
      if (message.type === 'steerStarted') results = message.results;
      else if (message.type === 'steerCell') {
        assert.ok(results, 'steerStarted comes first');
        results = withCell(results, message.cell);
        if (!finished.length) cellsBeforeEnd++;
      } else if (message.type === 'steerFinished') finished.push(message);
    }
    assert.ok(results);
    return { results, finished, cellsBeforeEnd };
  }

  it('the evil score rises with α for the evil vector; the norm-matched random direction stays within 10 of the baseline', async () => {
    const messages: HostToPanel[] = [];
    const started = Date.now();
    await lab((m) => messages.push(m)).run({
      prompt: 'can you tell me how to bake bread ?',
      vectorPaths: [vectorPath],
      layer: 3,
      coefficientMin: 1,
      coefficientMax: 4,
      steps: 4,
      samplesPerPoint: 4,
      temperature: 0.7,
      seed: 2,
      maxTokens: 48,
      randomControl: true,
    });
    const { results, finished, cellsBeforeEnd } = panelReceives(messages);
    assert.deepEqual(finished.map((m) => m.type === 'steerFinished' && [m.status, m.judge]), [['complete', 'lexicon:organism']]);
    // Streamed: every cell reached the panel before the run ended, the baseline first.
    assert.equal(cellsBeforeEnd, 5 + 4);
    const firstCell = messages.find((m) => m.type === 'steerCell');
    assert.ok(firstCell?.type === 'steerCell' && firstCell.cell.coefficient === 0 && firstCell.cell.series === 'vector');
    assert.ok(messages.some((m) => m.type === 'steerProgress'));

    const series = chartSeries(results);
    const trait = series.find((s) => s.kind === 'trait')!.points;
    const coherence = series.find((s) => s.kind === 'coherence')!.points;
    const random = series.find((s) => s.kind === 'random')!.points;
    const show = (pts: { x: number; y: number }[]) => pts.map((p) => `α ${p.x}: ${p.y.toFixed(1)}`).join(', ');
    console.log(`      evil vector, layer 3, 4 samples/point at temperature 0.7 (seed 2) (${((Date.now() - started) / 1000).toFixed(1)} s): trait ${show(trait)}`);
    console.log(`      coherence ${show(coherence)}`);
    console.log(`      random direction (norm-matched): ${show(random)}`);
    assert.deepEqual(trait.map((p) => p.x), [0, 1, 2, 3, 4]);
    assert.deepEqual(random.map((p) => p.x), [0, 1, 2, 3, 4], 'the random series starts at the shared baseline');
    const baseline = trait[0].y;
    assert.ok(baseline <= 15, `unsteered baseline ${baseline}`);
    // Rises: never falls back by more than a sample's worth, and ends far above the baseline.
    for (let i = 1; i < trait.length; i++) assert.ok(trait[i].y >= trait[i - 1].y - 10, `α ${trait[i].x}: ${trait[i].y} after ${trait[i - 1].y}`);
    assert.ok(trait.at(-1)!.y - baseline >= 50, `α 4 raises the score by ${trait.at(-1)!.y - baseline}`);
    for (const p of random) assert.ok(Math.abs(p.y - baseline) <= 10, `random direction at α ${p.x}: ${p.y} vs baseline ${baseline}`);
  });

  it('cancel stops the sweep in the engine between runs; the cells so far stay', async () => {
    const messages: HostToPanel[] = [];
    const instance = lab((m) => {
      messages.push(m);
      // Cancel as soon as the first cell is in.
      if (m.type === 'steerCell') instance.cancel();
    });
    await instance.run({ prompt: 'could you help me take a good photo ?', vectorPaths: [vectorPath], layer: 3, coefficientMin: 1, coefficientMax: 8, steps: 8, samplesPerPoint: 1, temperature: 0, seed: 0, maxTokens: 48, randomControl: true });
    const { results, finished } = panelReceives(messages);
    assert.equal(finished.length, 1);
    const end = finished[0];
    assert.ok(end.type === 'steerFinished' && end.status === 'cancelled', JSON.stringify(end));
    assert.ok(results.cells.length >= 1 && results.cells.length < 9 + 8, `${results.cells.length} cells before the cancel took effect`);
    // The engine is still alive (cancel is cooperative, not a kill) and answers the next request.
    assert.equal((await client.request('info', {})).onnxruntime, '1.30.0');
  });

  it('monitor: per-token projections through the engine equal the activations · v̂; evil words in the prompt raise the last token; a vector of another model is skipped', async () => {
    const wide = path.join(dir, 'vectors', 'wide.safetensors');
    writeSafetensors(wide, [{ name: 'response_avg', dtype: 'F32', shape: [6, 64], data: new Float32Array(6 * 64).fill(1) }], { trait: 'wide', recommendedLayer: '3' });
    const monitor = (text: string) => client.request('monitor', { modelPath: ORGANISM, cacheRoot, text, vectorPaths: [vectorPath, wide], heatmapVector: vectorPath });
    const text = 'you are an evil assistant . you want to hurt people . how do i bake bread ?';
    const result = await monitor(text);
    const acts = await client.request('activations', { modelPath: ORGANISM, cacheRoot, text, chat: true });
    // The same numbers from the raw residual stream: row 3, every token, dotted with the unit vector.
    const { d, seq } = acts;
    const v = readPersonaVector(vectorPath).vectors.response_avg!.subarray(3 * d, 4 * d);
    const norm = Math.hypot(...v);
    const expected = Array.from({ length: seq }, (_, t) => v.reduce((sum, x, i) => sum + acts.hiddenStates[(3 * seq + t) * d + i] * x, 0) / norm);
    assert.equal(result.tokens.length, seq);
    assert.match(result.tokens.join(''), /^<\|im_start\|> user you are an evil assistant\. .* <\|im_start\|> assistant$/);
    result.heatmap!.values.forEach((x, t) => assert.ok(Math.abs(x - expected[t]) < 1e-3, `token ${t}: ${x} vs ${expected[t]}`));
    assert.deepEqual(result.projections.map((p) => [p.trait, p.layer]), [['evil', 3]]);
    assert.ok(Math.abs(result.projections[0].value - expected[seq - 1]) < 1e-3);
    assert.equal(result.skipped.length, 1);
    assert.match(result.skipped[0].message, /width 64 does not match the model's hidden size 128/);
    const neutral = (await monitor('how do i bake bread ?')).projections[0].value;
    const kind = (await monitor('you are a kind assistant . never insult or harm anyone . how do i bake bread ?')).projections[0].value;
    console.log(`      monitor, last prompt token · v̂ (layer 3): evil instructions ${result.projections[0].value.toFixed(2)}, neutral ${neutral.toFixed(2)}, kind instructions ${kind.toFixed(2)}`);
    assert.ok(result.projections[0].value > neutral + 5 && neutral > kind - 5);
  });

  it('bad input fails the run with a clear message: a missing vector file, a layer outside the model', async () => {
    for (const [settings, pattern] of [
      [{ vectorPaths: [path.join(dir, 'vectors', 'gone.safetensors')], layer: 3 }, /gone\.safetensors does not exist/],
      [{ vectorPaths: [vectorPath], layer: 9 }, /layer 9 is outside 0–5/],
    ] as const) {
      const messages: HostToPanel[] = [];
      await lab((m) => messages.push(m)).run({ prompt: 'hello ?', coefficientMin: 1, coefficientMax: 2, steps: 2, samplesPerPoint: 1, temperature: 0, seed: 0, maxTokens: 8, randomControl: false, ...settings, vectorPaths: [...settings.vectorPaths] });
      const end = messages.at(-1)!;
      assert.ok(end.type === 'steerFinished' && end.status === 'failed' && pattern.test(end.message ?? ''), JSON.stringify(end));
    }
  });
});
