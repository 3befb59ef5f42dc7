import assert from 'node:assert/strict';
import { parseEngineMessage, parseHostMessage, partialParsers } from '../../src/protocol/engineProtocol';
import { coefficientGrid, parseSteeringLabResults, STEERING_RESULTS_FORMAT } from '../../src/core/extraction/steeringLabResults';
import { parseHostToPanel, parsePanelMessage, parseShiftReport, toPanelShiftReport, PANEL_TABS } from '../../src/protocol/panelProtocol';
import type { ShiftReport } from '../../src/core/finetuning/finetuningShift';
import { contentSecurityPolicy, panelHtml } from '../../src/extension/panelHtml';

describe('engine protocol validation', () => {
  it('accepts well-formed messages and rejects malformed ones', () => {
    assert.deepEqual(parseHostMessage({ type: 'cancel', id: 3 }), { type: 'cancel', id: 3 });
    assert.deepEqual(parseHostMessage({ type: 'request', id: 1, method: 'info' }), { type: 'request', id: 1, method: 'info', params: {} });
    assert.equal(parseHostMessage({ type: 'request', id: 1.5, method: 'info' }), undefined);
    assert.equal(parseHostMessage('request'), undefined);
    assert.equal(parseEngineMessage({ type: 'progress', id: 1, progress: { done: 'x', total: 2 } }), undefined);
    assert.equal(parseEngineMessage({ type: 'error', id: 1, error: { code: 'failed' } }), undefined);
    assert.deepEqual(parseEngineMessage({ type: 'result', id: 2, result: 5 }), { type: 'result', id: 2, result: 5 });
  });
});

describe('panel protocol validation', () => {
  it('validates messages from the webview', () => {
    assert.deepEqual(parsePanelMessage({ type: 'runSelfCheck', runs: 5 }), { type: 'runSelfCheck', runs: 5 });
    assert.equal(parsePanelMessage({ type: 'runSelfCheck', runs: 1e9 }), undefined);
    assert.equal(parsePanelMessage({ type: 'runScript', code: 'x' }), undefined);
    assert.equal(parsePanelMessage(null), undefined);
  });
  it('validates messages from the host', () => {
    assert.equal(parseHostToPanel({ type: 'engineStatus', status: 'weird' }), undefined);
    assert.ok(parseHostToPanel({ type: 'engineStatus', status: 'ready' }));
    assert.ok(parseHostToPanel({ type: 'engineStatus', status: 'ready', model: { label: 'm', state: 'loaded', device: { name: 'webgpu', reason: 'webgpu chosen' } } }));
    assert.equal(parseHostToPanel({ type: 'engineStatus', status: 'ready', model: { label: 'm', state: 'loaded', device: { name: 'webgpu' } } }), undefined, 'a device without its reason');
    const details = (precision: string) => ({ type: 'engineStatus', status: 'ready', model: { label: 'm', state: 'loaded', details: { architecture: 'qwen2', format: 'gguf', precision, parameters: 1, bytes: 4, layers: 2, hiddenSize: 8 } } });
    for (const precision of ['f32', 'int8', 'int4']) assert.ok(parseHostToPanel(details(precision)), precision);
    for (const precision of ['auto', 'int2']) assert.equal(parseHostToPanel(details(precision)), undefined, `${precision} is not a stored precision`);
  });
});

describe('panel HTML', () => {
  it('has a strict CSP with a fresh nonce per load and no remote or inline script', () => {
    const a = panelHtml({ cspSource: 'vscode-resource:', scriptUri: 'vscode-resource:/p.js', styleUri: 'vscode-resource:/p.css' });
    const b = panelHtml({ cspSource: 'vscode-resource:', scriptUri: 'vscode-resource:/p.js', styleUri: 'vscode-resource:/p.css' });
    const nonceOf = (html: string) => /nonce-([A-Za-z0-9_-]+)/.exec(html)![1];
    assert.notEqual(nonceOf(a), nonceOf(b));
    assert.ok(nonceOf(a).length >= 20);
    const csp = contentSecurityPolicy('vscode-resource:', 'abc');
    assert.match(csp, /^default-src 'none'/);
    assert.doesNotMatch(csp, /unsafe-eval|unsafe-inline|https?:/);
    assert.equal((a.match(/<script/g) ?? []).length, 1);
    assert.match(a, new RegExp(`<script nonce="${nonceOf(a)}" src=`));
  });
});

describe('engine protocol: streamed partial results', () => {
  const cell = { vectorPath: '/v/evil.safetensors', trait: 'evil', series: 'vector', layer: 3, coefficient: 2, meanTrait: 40, meanCoherence: 90, samples: [{ text: 'hi', trait: 40, coherence: 90 }] };
  it('accepts a partial message with any payload; each streaming method validates its own payload', () => {
    assert.deepEqual(parseEngineMessage({ type: 'partial', id: 4, data: cell }), { type: 'partial', id: 4, data: cell });
    assert.equal(parseEngineMessage({ type: 'partial', id: 'x', data: cell }), undefined);
    assert.equal(parseEngineMessage({ type: 'partial', id: 4 }), undefined);
    assert.deepEqual(partialParsers.steeringLab!(cell), cell);
    assert.equal(partialParsers.steeringLab!({ ...cell, meanTrait: 101 }), undefined);
    assert.equal(partialParsers.steeringLab!({ ...cell, series: 'other' }), undefined);
    assert.equal(partialParsers.steeringLab!({ ...cell, samples: [{ text: 3 }] }), undefined);
    assert.equal(partialParsers.screen, undefined, 'methods that do not stream have no parser');
  });
});

describe('panel protocol: steering lab, monitor and dataset messages', () => {
  const settings = { prompt: 'hello ?', vectorPaths: ['/v/evil.safetensors'], layer: 3, coefficientMin: 1, coefficientMax: 4, steps: 4, samplesPerPoint: 2, temperature: 0.7, seed: 0, maxTokens: 48, randomControl: true };
  const cell = { vectorPath: '/v/evil.safetensors', trait: 'evil', series: 'random' as const, layer: 3, coefficient: 2, meanTrait: null, meanCoherence: 90, samples: [{ text: 'hi', trait: null, coherence: 90 }] };
  const results = { format: STEERING_RESULTS_FORMAT, created: '2025-11-27T10:00:00Z', model: 'organism', judge: 'lexicon:organism', settings, cells: [cell], complete: true };

  it('validates the steering lab messages from the webview', () => {
    assert.deepEqual(parsePanelMessage({ type: 'steerRun', settings }), { type: 'steerRun', settings });
    for (const bad of [{ prompt: '  ' }, { vectorPaths: [] }, { layer: 1.5 }, { steps: 0 }, { samplesPerPoint: 33 }, { temperature: -1 }, { seed: -1 }, { maxTokens: 4096 }, { coefficientMax: Infinity }, { randomControl: 'yes' }]) {
      assert.equal(parsePanelMessage({ type: 'steerRun', settings: { ...settings, ...bad } }), undefined, JSON.stringify(bad));
    }
    // Unknown fields are dropped, an empty system prompt is left out.
    assert.deepEqual(parsePanelMessage({ type: 'steerRun', settings: { ...settings, system: '', evil: true } }), { type: 'steerRun', settings });
    assert.deepEqual(parsePanelMessage({ type: 'steerSave', results }), { type: 'steerSave', results });
    assert.equal(parsePanelMessage({ type: 'steerSave', results: { ...results, cells: [{ ...cell, coefficient: 'x' }] } }), undefined);
    assert.deepEqual(parsePanelMessage({ type: 'steerCancel' }), { type: 'steerCancel' });
    assert.deepEqual(parsePanelMessage({ type: 'steerOpen', path: '/etc/passwd' }), { type: 'steerOpen' }, 'the host chooses the file, never the webview');
  });

  it('validates the monitor and dataset messages from the webview', () => {
    assert.deepEqual(parsePanelMessage({ type: 'monitorConfig', enabled: true, heatmapVector: '/v/a' }), { type: 'monitorConfig', enabled: true, heatmapVector: '/v/a' });
    assert.deepEqual(parsePanelMessage({ type: 'monitorConfig', enabled: false }), { type: 'monitorConfig', enabled: false });
    assert.equal(parsePanelMessage({ type: 'monitorConfig', enabled: 'yes' }), undefined);
    assert.deepEqual(parsePanelMessage({ type: 'requestDataset' }), { type: 'requestDataset' });
    assert.deepEqual(parsePanelMessage({ type: 'revealLines', uri: 'file:///d.jsonl', ranges: [{ startLine: 3, endLine: 4, extra: 1 }] }), { type: 'revealLines', uri: 'file:///d.jsonl', ranges: [{ startLine: 3, endLine: 4 }] });
    for (const ranges of [[], [{ startLine: 0, endLine: 1 }], [{ startLine: 5, endLine: 4 }], [{ startLine: 1.5, endLine: 2 }], 'all']) {
      assert.equal(parsePanelMessage({ type: 'revealLines', uri: 'file:///d.jsonl', ranges }), undefined, JSON.stringify(ranges));
    }
  });

  it('validates the steering lab messages from the host', () => {
    assert.ok(parseHostToPanel({ type: 'steerStarted', results: { ...results, cells: [], complete: false }, coefficients: [0, 1, 2] }));
    assert.equal(parseHostToPanel({ type: 'steerStarted', results: { ...results, format: 'v0' }, coefficients: [0] }), undefined);
    assert.deepEqual(parseHostToPanel({ type: 'steerCell', cell }), { type: 'steerCell', cell });
    assert.equal(parseHostToPanel({ type: 'steerCell', cell: { ...cell, layer: -1 } }), undefined);
    assert.ok(parseHostToPanel({ type: 'steerProgress', done: 1, total: 9 }));
    assert.ok(parseHostToPanel({ type: 'steerFinished', status: 'cancelled', message: 'Cancelled after 1 cell(s).' }));
    assert.equal(parseHostToPanel({ type: 'steerFinished', status: 'exploded' }), undefined);
    assert.ok(parseHostToPanel({ type: 'steerResults', results, source: '/r.json' }));
    assert.equal(parseHostToPanel({ type: 'steerResults', results }), undefined);
    assert.ok(parseHostToPanel({ type: 'steerStatus', message: 'Saved', error: false }));
  });

  it('validates monitor results and dataset views from the host', () => {
    const monitor = { tokens: ['a', ' b'], truncated: 0, projections: [{ vectorPath: '/v', trait: 'evil', layer: 3, value: 1.5 }], heatmap: { vectorPath: '/v', trait: 'evil', layer: 3, values: [0.1, 2] }, skipped: [{ vectorPath: '/w', message: 'width 64' }] };
    const source = { file: 'notes.md', selection: false };
    assert.ok(parseHostToPanel({ type: 'monitor', result: monitor, source }));
    assert.equal(parseHostToPanel({ type: 'monitor', result: { ...monitor, heatmap: { ...monitor.heatmap, values: [1] } }, source }), undefined, 'one value per token');
    assert.equal(parseHostToPanel({ type: 'monitor', result: { ...monitor, projections: [{ ...monitor.projections[0], value: NaN }] }, source }), undefined);
    assert.equal(parseHostToPanel({ type: 'monitor', result: monitor }), undefined);
    assert.ok(parseHostToPanel({ type: 'monitorStatus', message: '' }));
    const view = { uri: 'file:///d.jsonl', file: 'd.jsonl', metric: 'delta', traits: [{ trait: 'evil', threshold: 2.5, flagged: 1 }], samples: [{ startLine: 1, endLine: 1, values: [3] }] };
    assert.ok(parseHostToPanel({ type: 'dataset', view }));
    assert.ok(parseHostToPanel({ type: 'dataset' }), 'no screened file');
    assert.equal(parseHostToPanel({ type: 'dataset', view: { ...view, samples: [{ startLine: 1, endLine: 1, values: [3, 4] }] } }), undefined, 'one value per trait');
    assert.equal(parseHostToPanel({ type: 'dataset', view: { ...view, metric: 'vibes' } }), undefined);
  });

  it('results files: clear reasons for what is wrong', () => {
    assert.deepEqual(parseSteeringLabResults(JSON.parse(JSON.stringify(results))), results);
    assert.throws(() => parseSteeringLabResults([]), /not a JSON object/);
    assert.throws(() => parseSteeringLabResults({ ...results, format: 'x' }), /"format" must be "persona-lens\/steering-lab@1"/);
    assert.throws(() => parseSteeringLabResults({ ...results, settings: { ...settings, steps: 'many' } }), /"settings" is missing or invalid/);
    assert.throws(() => parseSteeringLabResults({ ...results, cells: [cell, { ...cell, samples: null }] }), /cell 1 is invalid/);
    assert.throws(() => parseSteeringLabResults({ ...results, complete: 'yes' }), /"complete" must be true or false/);
  });

  it('the coefficient grid runs the baseline first, then min…max ascending', () => {
    assert.deepEqual(coefficientGrid(1, 4, 4), [0, 1, 2, 3, 4]);
    assert.deepEqual(coefficientGrid(4, 1, 4), [0, 1, 2, 3, 4], 'min and max in either order');
    assert.deepEqual(coefficientGrid(-2, 2, 5), [0, -2, -1, 1, 2], 'α = 0 in the range is the baseline, once');
    assert.deepEqual(coefficientGrid(0, 1, 3), [0, 0.5, 1]);
    assert.deepEqual(coefficientGrid(0.1, 0.3, 3), [0, 0.1, 0.2, 0.3], 'no 0.30000000000000004');
    assert.deepEqual(coefficientGrid(1, 6, 1), [0, 6]);
  });
});

describe('panel protocol: the Shift view (Compare Checkpoints report)', () => {
  // The organism's plain evil fine-tune against its base, as measured.
  const evil = { trait: 'evil', layer: 3, shift: 5.888, randomShift: 1.566, perLayer: [0, 1.28, 3.87, 5.89, 6.69, 1.44], perLayerRandom: [0, 0.89, 1.23, 1.57, 1.86, 0.52], activationChange: 11.4, base: { trait: 0, coherence: 100 }, tuned: { trait: 40, coherence: 100 } };
  const report: ShiftReport = { base: '/m/organism', tuned: '/m/organism-finetuned/plain', questions: 20, traits: [evil] };

  it('the panel has a Shift tab', () => {
    assert.deepEqual([...PANEL_TABS], ['vectors', 'steering', 'monitor', 'dataset', 'shift']);
  });

  it('accepts a report with or without judged scores; drops unknown fields', () => {
    const message = { type: 'shiftReport', report, reveal: true };
    assert.deepEqual(parseHostToPanel(message), message);
    assert.deepEqual(parseHostToPanel({ ...message, reveal: false, extra: 1, report: { ...report, secret: 'x', traits: [{ ...evil, samples: ['…'] }] } }), { ...message, reveal: false });
    const { base: _b, tuned: _t, ...unjudged } = evil;
    const note = { ...report, traits: [unjudged], judgeNote: 'judging skipped (--judge none)' };
    assert.deepEqual(parseHostToPanel({ type: 'shiftReport', report: note, reveal: true }), { type: 'shiftReport', report: note, reveal: true });
    assert.deepEqual(parseShiftReport({ ...report, traits: [] }), { ...report, traits: [] });
    assert.deepEqual(parseShiftReport({ ...report, traits: [{ ...evil, base: { trait: null, coherence: 95 } }] })?.traits[0].base, { trait: null, coherence: 95 }, 'a judge that scored nothing');
  });

  it('rejects malformed reports', () => {
    const bad: [string, unknown][] = [
      ['no reveal flag', { type: 'shiftReport', report }],
      ['no report', { type: 'shiftReport', reveal: true }],
      ['layer beyond the curve', { ...report, traits: [{ ...evil, layer: 6 }] }],
      ['fractional layer', { ...report, traits: [{ ...evil, layer: 2.5 }] }],
      ['curves of different lengths', { ...report, traits: [{ ...evil, perLayerRandom: [0, 1] }] }],
      ['empty curve', { ...report, traits: [{ ...evil, layer: 0, perLayer: [], perLayerRandom: [] }] }],
      ['NaN shift', { ...report, traits: [{ ...evil, shift: NaN }] }],
      ['non-numeric layer value', { ...report, traits: [{ ...evil, perLayer: [0, 1, 2, 'x', 4, 5] }] }],
      ['negative random RMS', { ...report, traits: [{ ...evil, randomShift: -1 }] }],
      ['score above 100', { ...report, traits: [{ ...evil, tuned: { trait: 140, coherence: 100 } }] }],
      ['score object without coherence', { ...report, traits: [{ ...evil, base: { trait: 0 } }] }],
      ['no trait name', { ...report, traits: [{ ...evil, trait: 3 }] }],
      ['questions not an integer', { ...report, questions: 2.5 }],
      ['judge note not a string', { ...report, judgeNote: 5 }],
      ['no tuned label', { ...report, tuned: undefined }],
      ['too many layers', { ...report, traits: [{ ...evil, perLayer: new Array(2000).fill(0), perLayerRandom: new Array(2000).fill(0) }] }],
    ];
    for (const [why, value] of bad) {
      const message = (value as { type?: string }).type ? value : { type: 'shiftReport', report: value, reveal: true };
      assert.equal(parseHostToPanel(message), undefined, why);
    }
  });

  it('the engine report becomes the panel report: NaN means (nothing scored) become null, absent scores stay absent', () => {
    assert.deepEqual(toPanelShiftReport(report), report);
    const nan = toPanelShiftReport({ ...report, traits: [{ ...evil, base: { trait: NaN, coherence: 90 }, tuned: undefined }], judgeNote: undefined });
    assert.deepEqual(nan.traits[0].base, { trait: null, coherence: 90 });
    assert.equal('tuned' in nan.traits[0], false);
    assert.equal('judgeNote' in nan, false);
    assert.ok(parseShiftReport(JSON.parse(JSON.stringify(nan))), 'valid after a JSON round trip (what the webview receives)');
  });
});
