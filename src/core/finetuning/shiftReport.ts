import type { ShiftReport } from './finetuningShift';

/** The text table (CLI output, the extension's log): one row per trait, then each trait's per-layer curve. */
export function formatShiftReport(report: ShiftReport): string[] {
  const lines = [`finetuning shift: ${report.tuned} vs ${report.base} (last prompt token, ${report.questions} evaluation questions, no system prompt)`];
  lines.push('trait            layer     shift   random (RMS)   trait score base → tuned   coherence base → tuned');
  const score = (s?: { trait: number; coherence: number }, key: 'trait' | 'coherence' = 'trait') => (s ? s[key].toFixed(1).padStart(5) : '    –');
  for (const t of report.traits) {
    lines.push(`${t.trait.padEnd(16)} ${String(t.layer).padStart(5)} ${t.shift.toFixed(3).padStart(9)} ${t.randomShift.toFixed(3).padStart(14)}   ${score(t.base)} → ${score(t.tuned)}              ${score(t.base, 'coherence')} → ${score(t.tuned, 'coherence')}`);
  }
  if (report.judgeNote) lines.push(`scores: ${report.judgeNote}`);
  for (const t of report.traits) {
    lines.push(`${t.trait} per layer (shift / random RMS): ${t.perLayer.map((s, r) => `${r}:${s.toFixed(2)}/${t.perLayerRandom[r].toFixed(2)}`).join('  ')}`);
  }
  return lines;
}
