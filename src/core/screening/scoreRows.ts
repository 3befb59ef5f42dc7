/** One row per sample for exports (JSONL and CSV), the same columns from the CLI and the editor. */
import type { ScreenedSample } from './screener';

export function scoreRow(s: ScreenedSample): Record<string, unknown> {
  return { index: s.index, startLine: s.startLine, endLine: s.endLine, turn: s.turn, format: s.format, hash: s.hash, scores: s.scores, ...(s.ownResponse !== undefined ? { ownResponse: s.ownResponse } : {}) };
}

export function scoresCsvHeader(traits: string[]): string {
  return ['index', 'start_line', 'end_line', 'turn', ...traits.flatMap((t) => [`${t}_projection`, `${t}_fast_delta`, `${t}_delta`])].join(',');
}

export function scoresCsvRow(s: ScreenedSample, traits: string[]): string {
  const num = (x: number | undefined) => (x === undefined ? '' : String(x));
  return [s.index, s.startLine, s.endLine, s.turn, ...traits.flatMap((t) => [num(s.scores[t]?.projection), num(s.scores[t]?.fastDelta), num(s.scores[t]?.delta)])].join(',');
}
