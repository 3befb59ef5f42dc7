/**
 * The Monitor view's host side: while the view is shown, the followed editor's text (or selection) is sent to the
 * engine's `monitor` method a moment after the user stops typing. Superseded requests are cancelled before they
 * reach the engine: at most one runs at a time, texts that change meanwhile collapse into one follow-up with the
 * latest text, and a result that is already stale is dropped. The request in flight is not aborted: it is one
 * forward pass that a cancel cannot interrupt, and a cancel the engine cannot honour within the grace period gets
 * the engine killed (and with it a running steering sweep).
 */
import type * as vscode from 'vscode';
import type { MonitorSource } from '../../protocol/panelProtocol';
import type { EngineRequester, PostToPanel, SelectedModel } from './panelDeps';

/** Typing pauses shorter than this do not start a model run. */
export const MONITOR_DEBOUNCE_MS = 400;
/** Only the end of a longer text is sent (the engine keeps the last 1024 tokens anyway). */
export const MONITOR_MAX_CHARS = 32000;

export interface MonitorText extends MonitorSource {
  text: string;
}

export interface MonitorDeps {
  engine: EngineRequester;
  post: PostToPanel;
  model: () => SelectedModel | undefined;
  vectorPaths: () => string[];
  /** The text to monitor now, or undefined when no editor is followed. */
  source: () => MonitorText | undefined;
  log: (line: string) => void;
  debounceMs?: number;
}

export class MonitorController implements vscode.Disposable {
  private enabled = false;
  private heatmapVector: string | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private busy = false;
  /** The text changed while a request was in flight: its result is stale and one more run follows. */
  private stale = false;

  constructor(private readonly deps: MonitorDeps) {}

  /** The view was shown or hidden, or another heat-map vector was chosen: update at once. */
  configure(enabled: boolean, heatmapVector?: string): void {
    this.enabled = enabled;
    this.heatmapVector = heatmapVector;
    if (enabled) this.schedule(0);
    else clearTimeout(this.timer);
  }

  /** The text, selection or editor changed: update after the debounce delay. */
  textChanged(): void {
    if (this.enabled) this.schedule(this.deps.debounceMs ?? MONITOR_DEBOUNCE_MS);
  }

  private schedule(delay: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.run(), delay);
  }

  /** Monitors the latest text; while a request is in flight, marks it stale so that one more run follows. */
  async run(): Promise<void> {
    if (this.busy) {
      this.stale = true;
      return;
    }
    this.busy = true;
    try {
      do {
        this.stale = false;
        await this.runOnce();
      } while (this.stale && this.enabled);
    } finally {
      this.busy = false;
    }
  }

  private async runOnce(): Promise<void> {
    const source = this.deps.source();
    const model = this.deps.model();
    const vectorPaths = this.deps.vectorPaths();
    const status = (message: string) => this.deps.post({ type: 'monitorStatus', message });
    if (!source) return status('Open a text editor: its text (or selection) is the prompt being monitored.');
    if (!source.text.trim()) return status(`${source.file} is empty.`);
    if (!model) return status('No model: run "Persona Lens: Select Model…" first.');
    if (!vectorPaths.length) return status('No persona vectors yet: run "Persona Lens: Extract Persona Vector…".');
    try {
      const result = await this.deps.engine.request(
        'monitor',
        {
          modelPath: model.modelPath,
          cacheRoot: model.cacheRoot,
          weights: model.weights,
          text: source.text.length > MONITOR_MAX_CHARS ? source.text.slice(-MONITOR_MAX_CHARS) : source.text,
          vectorPaths,
          heatmapVector: this.heatmapVector && vectorPaths.includes(this.heatmapVector) ? this.heatmapVector : vectorPaths[0],
        },
      );
      if (this.stale || !this.enabled) return;
      this.deps.post({ type: 'monitor', result, source: { file: source.file, selection: source.selection } });
      status('');
    } catch (err) {
      if (this.stale || !this.enabled) return;
      const message = err instanceof Error ? err.message : String(err);
      this.deps.log(`[monitor] ${message}`);
      status(`Monitoring failed: ${message}`);
    }
  }

  dispose(): void {
    this.enabled = false;
    clearTimeout(this.timer);
  }
}
