/**
 * The CLI's live progress line on stderr: counts, rate and time left of the step in progress, from the
 * (done, total, message) reports of a RunContext. On a terminal it is redrawn in place (carriage return, at most
 * every `redrawIntervalMs`) and a finished step's line stays; elsewhere (CI logs, pipes) it is a plain line when a
 * step starts, when it ends, and at most every `plainIntervalMs` in between. A step is a run of reports with one total whose count does not go back.
 *
 * Core messages carry their own count and estimate for the VS Code notification ("rollouts: 8/40, ~12s left"); the
 * line keeps the message, drops its estimate and adds its own, measured from this step's reports.
 */
import { formatDuration } from '../core/cancellation';

export interface ProgressStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressLineOptions {
  now?: () => number;
  plainIntervalMs?: number;
  /** Redraws of the terminal line are at most this often (besides a step's first and last). */
  redrawIntervalMs?: number;
}

interface Step {
  total: number;
  firstAt: number;
  firstDone: number;
  done: number;
  message?: string;
}

const CLEAR_LINE = '\r\x1b[K';

export class ProgressLine {
  private step?: Step;
  /** A live line is on screen (terminal only). */
  private shown = false;
  private lastWriteAt = -Infinity;
  private readonly now: () => number;
  private readonly plainIntervalMs: number;
  private readonly redrawIntervalMs: number;

  constructor(
    private readonly stream: ProgressStream,
    options: ProgressLineOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.plainIntervalMs = options.plainIntervalMs ?? 15_000;
    this.redrawIntervalMs = options.redrawIntervalMs ?? 100;
  }

  update(done: number, total: number, message?: string): void {
    const now = this.now();
    const previous = this.step;
    const fresh = !previous || previous.total !== total || done < previous.done || (total > 0 && previous.done >= total);
    if (fresh) {
      if (this.shown) this.stream.write('\n');
      this.shown = false;
      this.step = { total, firstAt: now, firstDone: done, done, message };
    } else Object.assign(previous, { done, message });
    const tty = Boolean(this.stream.isTTY);
    // A live line that was cleared (for a log line) comes back with the next report.
    if (!fresh && !this.complete() && !(tty && !this.shown) && now - this.lastWriteAt < (tty ? this.redrawIntervalMs : this.plainIntervalMs)) return;
    const text = formatProgress(this.step!, now);
    this.lastWriteAt = now;
    if (tty) {
      this.stream.write(CLEAR_LINE + fitTo(text, this.stream.columns));
      this.shown = true;
    } else this.stream.write(text + '\n');
  }

  /** A line of its own on the same stream (a log line, a warning). */
  line(text: string): void {
    this.around(() => this.stream.write(text + '\n'));
  }

  /**
   * Writes something else to the terminal (stdout's results, a log line): a finished step's line stays above it; an
   * unfinished one is cleared and comes back with the next report.
   */
  around(write: () => void): void {
    if (this.shown) {
      this.stream.write(this.complete() ? '\n' : CLEAR_LINE);
      this.shown = false;
    }
    write();
  }

  /** Leaves the last line on screen (the command is ending). */
  finish(): void {
    if (this.shown) this.stream.write('\n');
    this.shown = false;
  }

  private complete(): boolean {
    return !!this.step && this.step.total > 0 && this.step.done >= this.step.total;
  }
}

/** "rollouts: 8/40 · 20% · 2.5/s · ~13s left": the step's message with its own count, the rate and the time left. */
export function formatProgress(step: Step, now: number): string {
  const { done, total } = step;
  const message = (step.message ?? '').replace(/,?\s*~\d+s left/, '').trim();
  const counted = total <= 0 || message.includes(`${done}/${total}`) ? message : [message, `${done}/${total}`].filter(Boolean).join(': ');
  const parts = [counted || `${done}`];
  if (total > 0) parts.push(`${Math.floor((100 * Math.min(done, total)) / total)}%`);
  const seconds = (now - step.firstAt) / 1000;
  const rate = seconds > 0 && done > step.firstDone ? (done - step.firstDone) / seconds : undefined;
  if (rate !== undefined) {
    parts.push(rate >= 1 ? `${rate.toFixed(rate >= 10 ? 0 : 1)}/s` : `${(1 / rate).toFixed(1)}s each`);
    if (total > 0 && done < total) parts.push(`~${formatDuration((total - done) / rate)} left`);
  }
  return parts.join(' · ');
}

/** One terminal row: a longer line would wrap, and the carriage return would then redraw only its last row. */
function fitTo(text: string, columns?: number): string {
  if (!columns || text.length < columns) return text;
  return text.slice(0, Math.max(columns - 2, 1)) + '…';
}
