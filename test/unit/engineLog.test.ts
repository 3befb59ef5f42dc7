/** The engine's log (issue 21): a line per request and per progress phase, model events; vectors matched to the model. */
import assert from 'node:assert/strict';
import { modelEventLine, PROGRESS_LOG_INTERVAL_MS, progressPhase, RequestLog } from '../../src/engine/engineLog';
import { parseEngineMessage } from '../../src/protocol/engineProtocol';
import { describePanelModel } from '../../src/protocol/panelProtocol';
import { runFingerprint } from '../../src/core/model/loadedModel';
import { QUANTIZER_VERSION } from '../../src/core/model/quantize';
import { vectorModelFit } from '../../src/core/vectors/traitVector';
import type { ModelSummary } from '../../src/core/model/modelSummary';

const summary: ModelSummary = { path: '/m/organism', name: 'organism', format: 'safetensors', architecture: 'qwen2', layers: 5, hiddenSize: 128, vocabSize: 512, parameters: 1.3e6, precision: 'f32', requiredBytes: 262.3 * 1024 ** 2, availableBytes: 8 * 1024 ** 3, fingerprint: '0123456789abcdef' };

describe('engine log', () => {
  it('progress phases drop the counts: the text before ": ", or the message with its numbers blanked', () => {
    assert.equal(progressPhase('rollouts: 8/40, ~30s left'), 'rollouts');
    assert.equal(progressPhase('layer search (layer 3, α=4), generation batches: 5/100'), 'layer search (layer 3, α=4), generation batches');
    assert.equal(progressPhase('token 3/128'), 'token #/#');
    assert.equal(progressPhase('12 samples screened'), '# samples screened');
    assert.equal(progressPhase('8/300 samples, ~14s left'), progressPhase('300/300 samples'), 'the time left is not a phase');
  });

  it('a request: started, a line when a phase begins and again after the interval, its end with the time', () => {
    const lines: string[] = [];
    let now = 1000;
    const log = new RequestLog('extract', 7, (l) => lines.push(l), () => now);
    for (let i = 1; i <= 40; i++) log.progress(i, 40, `rollouts: ${i}/40`);
    now += PROGRESS_LOG_INTERVAL_MS;
    log.progress(41, 80, 'rollouts: 41/80');
    log.progress(42, 80, 'rollouts: 42/80');
    log.progress(1, 10, 'activations: 1/10 kept pairs');
    log.line('calibrating the screening threshold on 10 kept pairs at row 3');
    now += 2345;
    log.finished({ state: 'done' });
    assert.deepEqual(lines, [
      '[extract #7] started',
      '[extract #7] rollouts: 1/40',
      '[extract #7] rollouts: 41/80',
      '[extract #7] activations: 1/10 kept pairs',
      '[extract #7] calibrating the screening threshold on 10 kept pairs at row 3',
      '[extract #7] done after 32.3 s',
    ]);
  });

  it('routine requests (monitor, info, inspectModel) are logged only when they fail; a cancel is logged as such', () => {
    const lines: string[] = [];
    const now = () => 0;
    const monitor = new RequestLog('monitor', 1, (l) => lines.push(l), now);
    monitor.progress(1, 2, 'x: 1/2');
    monitor.finished({ state: 'done' });
    assert.equal(lines.length, 0, lines.join('\n'));
    new RequestLog('monitor', 2, (l) => lines.push(l), now).finished({ state: 'failed', message: 'no vector' });
    new RequestLog('screen', 3, (l) => lines.push(l), now).finished({ state: 'cancelled' });
    assert.deepEqual(lines, ['[monitor #2] failed after 0.0 s: no vector', '[screen #3] started', '[screen #3] cancelled after 0.0 s']);
  });

  it('model events: one line each, a loaded model described by name, architecture, shape, size and precision', () => {
    const ref = { modelPath: '/m/organism', weights: 'auto' as const };
    assert.equal(modelEventLine({ ...ref, state: 'loading' }), '[model] loading /m/organism (weights: auto)…');
    assert.equal(modelEventLine({ ...ref, state: 'loaded', summary, seconds: 0.42 }), '[model] loaded organism: qwen2, 5 layers, d=128, 1.3 M parameters (~262.3 MiB at f32) in 0.4 s');
    assert.equal(
      modelEventLine({ ...ref, state: 'loaded', summary: { ...summary, device: { device: 'cpu', reason: 'auto: webgpu did not initialise (no adapter); running on cpu' } }, seconds: 0.42 }),
      '[model] loaded organism: qwen2, 5 layers, d=128, 1.3 M parameters (~262.3 MiB at f32) in 0.4 s, on cpu (auto: webgpu did not initialise (no adapter); running on cpu)',
    );
    assert.equal(modelEventLine({ ...ref, adapterPath: '/a', state: 'failed', message: 'too big' }), '[model] could not load /m/organism + adapter /a: too big');
    assert.equal(modelEventLine({ ...ref, state: 'released' }), '[model] released /m/organism');
  });

  it('model messages are validated on arrival', () => {
    const loaded = { type: 'model', event: { modelPath: '/m', weights: 'int8', state: 'loaded', summary, seconds: 1 } };
    assert.deepEqual(parseEngineMessage(loaded), loaded);
    assert.equal(parseEngineMessage({ type: 'model', event: { modelPath: '/m', weights: 'int8', state: 'loaded', summary: { ...summary, precision: 'auto' }, seconds: 1 } }), undefined, 'a loaded model has a resolved precision');
    assert.equal(parseEngineMessage({ type: 'model', event: { modelPath: '/m', weights: 'int9', state: 'loading' } }), undefined);
    assert.equal(parseEngineMessage({ type: 'model', event: { modelPath: '/m', weights: 'auto', state: 'failed' } }), undefined, 'a failure says why');
    assert.equal(parseEngineMessage({ type: 'model', event: { modelPath: '/m', weights: 'auto', state: 'loaded', summary: { ...summary, parameters: 'many' }, seconds: 1 } }), undefined);
  });

  it('the engine card line: architecture, format, precision, shape, parameters, memory; or what is missing', () => {
    const details = { architecture: 'qwen2', format: 'safetensors' as const, precision: 'int4' as const, parameters: 7.61e9, bytes: 5.2 * 1024 ** 3, layers: 28, hiddenSize: 3584 };
    assert.equal(describePanelModel({ label: 'Qwen', state: 'loaded', details }), 'qwen2 · safetensors · int4 · 28 layers, d=3584 · 7.61 B parameters · ~5.2 GiB in memory');
    assert.equal(
      describePanelModel({ label: 'Qwen', state: 'loaded', details, device: { name: 'cpu', reason: 'auto: webgpu did not initialise (no adapter); running on cpu' } }),
      'qwen2 · safetensors · int4 · 28 layers, d=3584 · 7.61 B parameters · ~5.2 GiB in memory · on cpu (auto: webgpu did not initialise (no adapter); running on cpu)',
    );
    assert.equal(describePanelModel({ label: 'x', state: 'failed', message: 'out of memory' }), 'architecture, precision and size once the engine has opened it · out of memory');
  });

  it('a vector fits the model when its fingerprint is the model\'s as it runs, or the same checkpoint at another precision', () => {
    const base = '0123456789abcdef';
    assert.equal(runFingerprint(base, 'f32'), base);
    assert.equal(runFingerprint(base, 'int8'), `${base}-int8-q${QUANTIZER_VERSION}`);
    assert.equal(runFingerprint(base, 'int4', 'fedcba9876543210'), `${base}-lora-fedcba9876543210-int4-q${QUANTIZER_VERSION}`);
    assert.equal(vectorModelFit(base, base), 'same');
    assert.equal(vectorModelFit(`${base}-int8`, `${base}-int8`), 'same');
    assert.equal(vectorModelFit(`${base}-int8`, base), 'other precision');
    assert.equal(vectorModelFit(base, `${base}-int4`), 'other precision');
    assert.equal(vectorModelFit(`${base}-int8-q1`, `${base}-int8-q2`), 'other precision', 'another quantizer at the same precision');
    assert.equal(vectorModelFit(`${base}-lora-fedcba9876543210`, base), undefined, 'a fine-tune is another model');
    assert.equal(vectorModelFit('fedcba9876543210', base), undefined);
    assert.equal(vectorModelFit(undefined, base), undefined);
  });
});
