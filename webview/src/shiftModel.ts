/** The Shift view's pure logic (no DOM), unit-tested in Node: labels, verdicts and score changes of a shift report. */
import type { PanelShiftReport, PanelTraitShift, ShiftScores } from '../../src/protocol/panelProtocol';

/** The last two parts of a path (`organism-finetuned/plain`); a "base + adapter" label keeps both sides. */
export function shortModelLabel(label: string): string {
  return label
    .split(' + ')
    .map((part) => part.split(/[\\/]+/).filter(Boolean).slice(-2).join('/') || part)
    .join(' + ');
}

/** A number with its sign: +5.89, -1.20, and 0.00 for anything that rounds to zero. */
export function signed(x: number, digits = 2): string {
  const text = x.toFixed(digits);
  if (Number(text) === 0) return (0).toFixed(digits);
  return x > 0 ? `+${text}` : text;
}

export interface ShiftVerdict {
  /** |shift| in units of the random control's RMS (Infinity when the control is 0 and the shift is not). */
  ratio: number;
  /** |shift| beyond the random control: the fine-tune moved along this direction more than along a random one. */
  beyond: boolean;
  direction: 'toward' | 'away' | 'none';
  text: string;
}

export function shiftVerdict(t: Pick<PanelTraitShift, 'trait' | 'shift' | 'randomShift'>): ShiftVerdict {
  const size = Math.abs(t.shift);
  const ratio = t.randomShift > 0 ? size / t.randomShift : size > 0 ? Infinity : 0;
  const beyond = ratio > 1;
  const direction = !beyond ? 'none' : t.shift > 0 ? 'toward' : 'away';
  const times = Number.isFinite(ratio) ? `${ratio.toFixed(1)}×` : 'far beyond';
  const text = beyond
    ? `${times} the random control: the fine-tune moved the model ${direction === 'toward' ? 'toward' : 'away from'} ${t.trait}.`
    : `within the random control (${ratio.toFixed(1)}×): no shift along ${t.trait} beyond what a random direction shows.`;
  return { ratio, beyond, direction, text };
}

export interface ScoreChange {
  base: string;
  tuned: string;
  /** tuned − base, when both were scored. */
  delta?: number;
}

const scoreText = (v: number | null | undefined) => (v === null || v === undefined ? '–' : v.toFixed(1));

/** Judged score base → tuned ('–' where the judge gave none). */
export function scoreChange(base: ShiftScores | undefined, tuned: ShiftScores | undefined, key: keyof ShiftScores): ScoreChange {
  const b = base?.[key];
  const t = tuned?.[key];
  return { base: scoreText(b), tuned: scoreText(t), ...(typeof b === 'number' && typeof t === 'number' ? { delta: t - b } : {}) };
}

/** True when some trait lacks a judged score on either side (the report's judgeNote then says why). */
export function scoresMissing(report: PanelShiftReport): boolean {
  return report.traits.some((t) => [t.base, t.tuned].some((s) => !s || s.trait === null || s.coherence === null));
}
