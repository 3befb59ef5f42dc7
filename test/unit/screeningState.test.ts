/** The editor's screening logic in plain Node: flags, heat marks from the calibrated scale, the summary CodeLens line. */
import assert from 'node:assert/strict';
import { flaggedLines, sampleViews, summaryLine, thresholdLabel, HEAT_LEVELS } from '../../src/extension/screening/screeningState';
import type { ScreenResult } from '../../src/protocol/engineProtocol';

const sample = (line: number, delta: number) => ({ kind: 'scored', index: line - 1, startLine: line, endLine: line, turn: 0, format: 'messages', hash: String(line), responseTokens: 3, scores: { evil: { projection: 0, fastDelta: 0, delta } } }) as never;

function result(summary: Partial<ScreenResult['summaries'][number]>): ScreenResult {
  return {
    traits: ['evil'],
    metric: 'delta',
    issues: [],
    samples: [sample(1, 0), sample(2, 2), sample(3, 3.9), sample(4, 5), sample(5, 9)],
    summaries: [{ trait: 'evil', metric: 'delta', samples: 5, mean: 3.98, p50: 3.9, p90: 7.4, p99: 8.8, threshold: 4, thresholdRule: 'r', flagged: 2, shareFlagged: 0.4, ...summary }],
  };
}

describe('screening state (editor logic, no vscode)', () => {
  it('a calibrated threshold: heat runs from the median anti-trait answer to the threshold, whatever the rest of the file', () => {
    const views = sampleViews(result({ thresholdKind: 'calibrated', heatFrom: 0 }));
    assert.deepEqual(views.map((v) => v.heat), [0, 1, 2, HEAT_LEVELS, HEAT_LEVELS]);
    assert.deepEqual(views.map((v) => v.flaggedTraits.length), [0, 0, 0, 1, 1]);
    assert.deepEqual([...flaggedLines(result({}))], [4, 5]);
  });

  it('a file percentile: heat from the file median, as before', () => {
    assert.deepEqual(sampleViews(result({ thresholdKind: 'percentile' })).map((v) => v.heat), [0, 0, 0, HEAT_LEVELS, HEAT_LEVELS]);
  });

  it('the summary line says how each threshold was set', () => {
    assert.match(summaryLine(result({ thresholdKind: 'calibrated' })), /evil: 2 flagged \(40\.0%, threshold 4\.00 calibrated on the vector\), mean ΔP 3\.98/);
    assert.equal(thresholdLabel(result({ thresholdKind: 'percentile' }).summaries[0]), 'relative to this file');
    assert.equal(thresholdLabel(result({ thresholdKind: 'value' }).summaries[0]), 'fixed');
  });
});
