/** Cooperative cancellation checked between model runs (a run itself cannot be interrupted). */
export class CancelledError extends Error {
  constructor(message = 'Cancelled') {
    super(message);
    this.name = 'CancelledError';
  }
}

export interface RunContext {
  /** Throws CancelledError if the work was cancelled. Call between model runs. */
  checkpoint(): Promise<void>;
  progress(done: number, total: number, message?: string): void;
  /** Aborted on cancel, for work that can stop mid-way (downloads). */
  readonly signal?: AbortSignal;
  /** A line for the user's log (e.g. a corrupt cache entry discarded and rebuilt). */
  log?(line: string): void;
}

/**
 * Lets the event loop turn: pending messages, signals (Ctrl+C) and timers are handled. onnxruntime's run() holds the
 * loop while it computes and its promise resolves as a microtask, so a loop of model runs never turns it by itself.
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}

/** Lets pending messages (such as a cancel) be handled, then checks the signal. */
export async function checkpointFor(signal?: AbortSignal): Promise<void> {
  await yieldToEventLoop();
  if (signal?.aborted) throw new CancelledError();
}

export function runContext(signal?: AbortSignal, onProgress?: (done: number, total: number, message?: string) => void, onLog?: (line: string) => void): RunContext {
  return {
    checkpoint: () => checkpointFor(signal),
    progress: (done, total, message) => onProgress?.(done, total, message),
    signal,
    log: (line) => onLog?.(line),
  };
}

/** The same cancel point without progress: for inner loops (token by token) whose caller reports coarser progress. */
export function cancelOnly(ctx?: RunContext): RunContext | undefined {
  return ctx && { checkpoint: () => ctx.checkpoint(), progress: () => undefined, signal: ctx.signal, log: (line) => ctx.log?.(line) };
}

/** A time for people: 45s, 3m 05s, 2h 07m (the progress line's time left, the search plan's estimate). */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** Progress as "label: done/total, ~Ns left", the estimate taken from the pace since this reporter was made. */
export function progressReporter(ctx: RunContext | undefined, total: number): (done: number, label: string) => void {
  const started = Date.now();
  return (done, label) => {
    const elapsed = (Date.now() - started) / 1000;
    const eta = done > 0 && done < total ? Math.round((elapsed / done) * (total - done)) : undefined;
    ctx?.progress(done, total, `${label}: ${done}/${total}${eta !== undefined ? `, ~${eta}s left` : ''}`);
  };
}
