/** One row per sample for exports (JSONL and CSV), the same columns from the CLI and the editor. */
import type { ScreenedSample } from './screener';
import { METRIC_KEYS } from './metrics';
import { peakText } from '../monitoring/tokenProjections';

const snake = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

export function scoreRow(s: ScreenedSample): Record<string, unknown> {
  const peaks = s.peaks && Object.fromEntries(Object.entries(s.peaks).map(([t, segments]) => [t, peakText(segments)]));
  return { index: s.index, startLine: s.startLine, endLine: s.endLine, turn: s.turn, format: s.format, hash: s.hash, scores: s.scores, ...(peaks ? { peaks } : {}), ...(s.ownResponse !== undefined ? { ownResponse: s.ownResponse } : {}) };
}

export function scoresCsvHeader(traits: string[]): string {
  return ['index', 'start_line', 'end_line', 'turn', ...traits.flatMap((t) => METRIC_KEYS.map((k) => `${t}_${snake(k)}`))].join(',');
}

export function scoresCsvRow(s: ScreenedSample, traits: string[]): string {
  const num = (x: number | undefined) => (x === undefined ? '' : String(x));
  return [s.index, s.startLine, s.endLine, s.turn, ...traits.flatMap((t) => METRIC_KEYS.map((k) => num(s.scores[t]?.[k])))].join(',');
}
