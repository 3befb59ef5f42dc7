/**
 * Screening results per document, and what they mean for the editor: which samples are over threshold (flagged)
 * and how hot each sample is. Pure logic, no `vscode`, so it is unit-tested in Node.
 */
import type { ScreenResult } from '../../protocol/engineProtocol';
import type { ScreenedSample } from '../../core/screening/screener';
import { metricValue } from '../../core/screening/summary';
import { metricLabel } from '../../core/screening/metrics';

export const HEAT_LEVELS = 3;

export interface SampleView {
  sample: ScreenedSample;
  /** Traits whose metric is above their threshold. */
  flaggedTraits: string[];
  /** 0 (cool) … HEAT_LEVELS (hot): the highest trait's place between its heat start (summary.heatFrom) and its threshold. */
  heat: number;
}

export function sampleViews(result: ScreenResult): SampleView[] {
  return result.samples.map((sample) => {
    let heat = 0;
    const flaggedTraits: string[] = [];
    for (const s of result.summaries) {
      const value = metricValue(sample, s.trait, result.metric);
      if (value > s.threshold) flaggedTraits.push(s.trait);
      const from = s.heatFrom ?? s.p50;
      const span = s.threshold - from;
      const level = value > s.threshold ? HEAT_LEVELS : span > 0 ? Math.max(0, Math.floor(((value - from) / span) * HEAT_LEVELS)) : 0;
      heat = Math.max(heat, Math.min(HEAT_LEVELS, level));
    }
    return { sample, flaggedTraits, heat };
  });
}

export { metricLabel };

/** A few words on how a trait's threshold was set, for the CodeLens and Problems. */
export function thresholdLabel(s: ScreenResult['summaries'][number]): string {
  if (s.thresholdKind === 'calibrated') return 'calibrated on the vector';
  if (s.thresholdKind === 'value') return 'fixed';
  return 'relative to this file';
}

/** One-line file summary for the CodeLens. */
export function summaryLine(result: ScreenResult): string {
  const parts = result.summaries.map((s) => `${s.trait}: ${s.flagged} flagged (${(100 * s.shareFlagged).toFixed(1)}%, threshold ${s.threshold.toFixed(2)} ${thresholdLabel(s)}), mean ${metricLabel(result.metric)} ${s.mean.toFixed(2)}`);
  return `Persona Lens · ${result.samples.length} samples${result.issues.length ? `, ${result.issues.length} skipped` : ''} · ${parts.join(' · ')}`;
}

/** Lines (1-based) of samples with any flagged trait: what Filter Dataset removes. */
export function flaggedLines(result: ScreenResult): Set<number> {
  const lines = new Set<number>();
  for (const v of sampleViews(result)) if (v.flaggedTraits.length) for (let l = v.sample.startLine; l <= v.sample.endLine; l++) lines.add(l);
  return lines;
}

/** Text of a JSONL file without the flagged samples (the source file is never touched). */
export function filteredJsonl(text: string, result: ScreenResult): { text: string; removed: number } {
  const drop = flaggedLines(result);
  const kept: string[] = [];
  let removed = 0;
  text.split(/\r?\n/).forEach((line, i) => {
    if (drop.has(i + 1)) removed++;
    else kept.push(line);
  });
  return { text: kept.join('\n'), removed };
}
