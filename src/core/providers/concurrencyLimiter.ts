import { getMaxListeners, setMaxListeners } from 'node:events';
import { ProviderError } from './chatProvider';

/** Runs at most `limit` tasks at once; the rest wait in FIFO order. A waiting task leaves the queue when aborted. */
export class ConcurrencyLimiter {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`concurrency must be a positive integer (got ${limit})`);
  }

  async run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.acquire(signal);
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }

  private acquire(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(cancelled());
    if (this.running < this.limit) {
      this.running++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const start = () => {
        signal?.removeEventListener('abort', onAbort);
        // The slot is handed over from the finishing task, so `running` stays the same.
        resolve();
      };
      const onAbort = () => {
        this.waiting.splice(this.waiting.indexOf(start), 1);
        reject(cancelled());
      };
      this.waiting.push(start);
      if (signal) {
        // Each waiter listens for the abort by design (a whole round of judge requests can queue at once), plus a
        // few listeners per running request: not a leak, so Node's warning at 10 would only be noise.
        const needed = this.waiting.length + 4 * this.limit + 10;
        if (getMaxListeners(signal) < needed) setMaxListeners(needed, signal);
        signal.addEventListener('abort', onAbort, { once: true });
      }
    });
  }
}

function cancelled(): ProviderError {
  return new ProviderError('cancelled', 'Cancelled before the request was sent.');
}
