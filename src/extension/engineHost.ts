/**
 * The extension's handle on the engine process: started lazily on first use (activation never forks it),
 * restarted on the next request after a crash, and every failure shown to the user as a clear message. It knows
 * the engine's state and the model it holds (the engine's `model` messages), for the status bar and the panel,
 * and writes the engine's log lines to the output channel.
 */
import * as vscode from 'vscode';
import * as path from 'node:path';
import { EngineClient, EngineError, type RequestOptions } from '../engine/client';
import type { EngineMethod, ModelEvent, ParamsOf, ResultOf } from '../protocol/engineProtocol';
import type { EngineStatus } from '../protocol/panelProtocol';
import type { ModelSummary } from '../core/model/modelSummary';
import type { WeightPrecisionChoice } from '../core/model/weightPrecision';
import { vscodeLmComplete } from './judges';

const summaryKey = (modelPath: string, weights: WeightPrecisionChoice) => `${modelPath}\0${weights}`;

export class EngineHost implements vscode.Disposable {
  private client: EngineClient | undefined;
  private state: EngineStatus = 'stopped';
  private pending = 0;
  private held: ModelEvent | undefined;
  /** What the engine said about models it opened (inspected or loaded), by path and weights choice. */
  private readonly summaries = new Map<string, ModelSummary>();
  private readonly statusEmitter = new vscode.EventEmitter<EngineStatus>();
  private readonly modelEmitter = new vscode.EventEmitter<ModelEvent | undefined>();
  /** Fires when the engine starts, gets busy, is idle, crashes or is stopped. */
  readonly onDidChangeStatus = this.statusEmitter.event;
  /** Fires when the model the engine holds changes (loading, loaded, failed, released; undefined: engine gone). */
  readonly onDidChangeModel = this.modelEmitter.event;

  constructor(private readonly extensionPath: string, private readonly log: vscode.OutputChannel) {}

  get isRunning(): boolean {
    return this.client?.isRunning ?? false;
  }

  get status(): EngineStatus {
    return this.state;
  }

  /** The engine's model and its state: loading, loaded or failed (undefined when it holds none). */
  get model(): ModelEvent | undefined {
    return this.held;
  }

  /** What the engine last said about this model at this weights choice, if it opened it in this session. */
  summaryOf(modelPath: string, weights: WeightPrecisionChoice): ModelSummary | undefined {
    return this.summaries.get(summaryKey(modelPath, weights));
  }

  request<M extends EngineMethod>(method: M, params: ParamsOf<M>, options?: RequestOptions<M>): Promise<ResultOf<M>> {
    const client = this.getClient();
    this.pending++;
    this.setStatus('busy');
    const result = client.request(method, plainCopy(params), options);
    if (method === 'inspectModel' || method === 'loadModel') {
      const p = params as ParamsOf<'inspectModel'>;
      void result.then((summary) => this.summaries.set(summaryKey(p.modelPath, p.weights ?? 'auto'), summary as ModelSummary), () => undefined);
    }
    const settle = () => {
      this.pending--;
      // The client stops the engine itself when a cancel is not honoured in time: its model went with it.
      if (!client.isRunning && this.held) this.setModel(undefined);
      if (this.pending === 0 && this.state === 'busy') this.setStatus(client.isRunning ? 'ready' : 'stopped');
    };
    result.then(settle, settle);
    return result;
  }

  /** Runs a request with a cancellable notification progress, reporting counts as they come. */
  async withProgress<M extends EngineMethod>(title: string, method: M, params: ParamsOf<M>): Promise<ResultOf<M> | undefined> {
    return vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title, cancellable: true },
      async (progress, token) => {
        const controller = new AbortController();
        const sub = token.onCancellationRequested(() => controller.abort());
        let reported = 0;
        try {
          return await this.request(method, params, {
            signal: controller.signal,
            onProgress: (p) => {
              const percent = p.total > 0 ? (100 * p.done) / p.total : 0;
              progress.report({ message: p.message ?? `${p.done}/${p.total}`, increment: percent - reported });
              reported = percent;
            },
          });
        } catch (err) {
          this.reportError(title, err);
          return undefined;
        } finally {
          sub.dispose();
        }
      },
    );
  }

  reportError(what: string, err: unknown): void {
    if (err instanceof EngineError && err.code === 'cancelled') {
      void vscode.window.showInformationMessage(`${what}: cancelled.`);
      return;
    }
    const message = err instanceof Error ? err.message : String(err);
    this.log.appendLine(`[error] ${what}: ${message}`);
    void vscode.window.showErrorMessage(`${what} failed: ${message}`, 'Show Log').then((choice) => {
      if (choice) this.log.show();
    });
  }

  restart(): void {
    this.client?.kill('The engine was restarted by the user.');
    this.log.appendLine('[engine] stopped by the user; it starts again on the next request');
    this.setModel(undefined);
    this.setStatus('stopped');
  }

  dispose(): void {
    this.client?.dispose();
    this.statusEmitter.dispose();
    this.modelEmitter.dispose();
  }

  private setStatus(status: EngineStatus): void {
    if (status === this.state) return;
    this.state = status;
    this.statusEmitter.fire(status);
  }

  private setModel(event: ModelEvent | undefined): void {
    this.held = event?.state === 'released' ? undefined : event;
    if (event?.state === 'loaded') this.summaries.set(summaryKey(event.modelPath, event.weights), event.summary);
    this.modelEmitter.fire(this.held);
  }

  private getClient(): EngineClient {
    if (this.client) return this.client;
    const config = vscode.workspace.getConfiguration('personaLens');
    this.client = new EngineClient({
      enginePath: path.join(this.extensionPath, 'dist', 'engine.js'),
      // VS Code's executable is Electron; this makes the forked child a plain Node process.
      env: { ELECTRON_RUN_AS_NODE: '1' },
      cancelGraceMs: config.get<number>('engine.cancelGracePeriod', 3000),
      onLog: (line) => this.log.appendLine(line),
      onReady: () => this.setStatus(this.pending > 0 ? 'busy' : 'ready'),
      onModel: (event) => this.setModel(event),
      hostHandlers: { chatComplete: vscodeLmComplete },
      onUnexpectedExit: (message) => {
        this.log.appendLine(`[engine] ${message}`);
        this.setModel(undefined);
        this.setStatus('crashed');
        void vscode.window.showWarningMessage(message);
      },
    });
    return this.client;
  }
}

/**
 * VS Code hands out configuration objects as read-only proxies, which the engine's IPC (structured clone) cannot
 * send; params often carry settings. Copies plain objects and arrays, keeping typed arrays and primitives as they are.
 */
export function plainCopy<T>(value: T): T {
  if (typeof value !== 'object' || value === null || ArrayBuffer.isView(value)) return value;
  if (Array.isArray(value)) return value.map((v) => plainCopy(v)) as T;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plainCopy(v)])) as T;
}
