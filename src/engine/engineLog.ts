/**
 * The engine's log as the user reads it in the "Persona Lens" output channel: each request started and how it
 * ended (with its time), the progress of long work a line per phase (not a line per tick), model loads and
 * releases. Pure: main.ts sends the lines.
 */
import type { EngineMethod } from '../protocol/engineProtocol';
import { describeModel, type ModelEvent } from '../core/model/modelSummary';

/** Asked as the user types or opens views: logged only when they fail. */
const ROUTINE_METHODS: ReadonlySet<EngineMethod> = new Set<EngineMethod>(['info', 'inspectModel', 'monitor']);

/** A phase that keeps going gets a progress line again after this long. */
export const PROGRESS_LOG_INTERVAL_MS = 30000;

/**
 * What a progress message is about, without its counts: the text before ": " ("rollouts: 8/40, ~30s left" →
 * "rollouts"), or the message without its time left and with its numbers blanked ("8/300 samples, ~14s left" →
 * "#/# samples").
 */
export function progressPhase(message: string): string {
  const colon = message.indexOf(': ');
  return colon > 0 ? message.slice(0, colon) : message.replace(/, ~\d+s left$/, '').replace(/\d+(\.\d+)?/g, '#');
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** The log lines of one request. */
export class RequestLog {
  private readonly tag: string;
  private readonly routine: boolean;
  private readonly startedAt: number;
  private phase: string | undefined;
  private phaseLoggedAt = 0;

  constructor(method: EngineMethod, id: number, private readonly log: (line: string) => void, private readonly now: () => number = Date.now) {
    this.tag = `[${method} #${id}]`;
    this.routine = ROUTINE_METHODS.has(method);
    this.startedAt = now();
    if (!this.routine) log(`${this.tag} started`);
  }

  /** A line the work itself logs (a cache entry rebuilt, calibration), tagged with its request. */
  line(text: string): void {
    this.log(`${this.tag} ${text}`);
  }

  progress(done: number, total: number, message?: string): void {
    if (this.routine) return;
    const text = message ?? `${done}/${total}`;
    const phase = message === undefined ? 'progress' : progressPhase(message);
    const now = this.now();
    if (phase === this.phase && now - this.phaseLoggedAt < PROGRESS_LOG_INTERVAL_MS) return;
    this.phase = phase;
    this.phaseLoggedAt = now;
    this.log(`${this.tag} ${text}`);
  }

  finished(outcome: { state: 'done' } | { state: 'cancelled' } | { state: 'failed'; message: string }): void {
    const took = seconds(this.now() - this.startedAt);
    if (outcome.state === 'failed') this.log(`${this.tag} failed after ${took}: ${outcome.message}`);
    else if (!this.routine) this.log(`${this.tag} ${outcome.state === 'done' ? 'done' : 'cancelled'} after ${took}`);
  }
}

/** The log line of a model event. */
export function modelEventLine(event: ModelEvent): string {
  const what = `${event.modelPath}${event.adapterPath ? ` + adapter ${event.adapterPath}` : ''}`;
  switch (event.state) {
    case 'loading':
      return `[model] loading ${what} (weights: ${event.weights})…`;
    case 'loaded':
      return `[model] loaded ${describeModel(event.summary)} in ${event.seconds.toFixed(1)} s${event.summary.device ? `, on ${event.summary.device.device} (${event.summary.device.reason})` : ''}`;
    case 'failed':
      return `[model] could not load ${what}: ${event.message}`;
    case 'released':
      return `[model] released ${what}`;
  }
}
