/**
 * The extension's handle on the engine process: started lazily on first use (activation never forks it),
 * restarted on the next request after a crash, and every failure shown to the user as a clear message.
 */
import * as vscode from 'vscode';
import * as path from 'node:path';
import { EngineClient, EngineError, type RequestOptions } from '../engine/client';
import type { EngineMethod, ParamsOf, ResultOf } from '../protocol/engineProtocol';
import { vscodeLmComplete } from './judges';

export class EngineHost implements vscode.Disposable {
  private client: EngineClient | undefined;
  private readonly statusEmitter = new vscode.EventEmitter<string>();
  /** Fires with a human-readable status change (started, crashed, killed). */
  readonly onDidChangeStatus = this.statusEmitter.event;

  constructor(private readonly extensionPath: string, private readonly log: vscode.OutputChannel) {}

  get isRunning(): boolean {
    return this.client?.isRunning ?? false;
  }

  request<M extends EngineMethod>(method: M, params: ParamsOf<M>, options?: RequestOptions<M>): Promise<ResultOf<M>> {
    return this.getClient().request(method, plainCopy(params), options);
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
    this.statusEmitter.fire('stopped');
  }

  dispose(): void {
    this.client?.dispose();
    this.statusEmitter.dispose();
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
      hostHandlers: { chatComplete: vscodeLmComplete },
      onUnexpectedExit: (message) => {
        this.log.appendLine(`[engine] ${message}`);
        this.statusEmitter.fire('crashed');
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
