/**
 * EngineClient: forks the engine process and speaks the engine protocol with it. No `vscode` import:
 * the extension and the CLI both use it, and it is tested in plain Node.
 *
 * Cancel sends a message the engine checks between model runs; if no answer comes within the grace period
 * (a long run blocks the engine's event loop), the process is killed and the next request starts a new one.
 */
import { fork, type ChildProcess, type ForkOptions } from 'node:child_process';
import {
  parseEngineMessage,
  partialParsers,
  type EngineErrorCode,
  type EngineMethod,
  type HostMethod,
  type HostMethods,
  type HostToEngine,
  type ModelEvent,
  type ParamsOf,
  type PartialOf,
  type Progress,
  type ResultOf,
} from '../protocol/engineProtocol';

export class EngineError extends Error {
  constructor(readonly code: EngineErrorCode, message: string) {
    super(message);
    this.name = 'EngineError';
  }
}

export interface EngineClientOptions {
  /** Path of the built engine entry (dist/engine.js). */
  enginePath: string;
  /** Extra environment; inside VS Code pass ELECTRON_RUN_AS_NODE=1 so Electron runs as plain Node. */
  env?: NodeJS.ProcessEnv;
  execPath?: string;
  /** How long to wait for a cancelled request to stop before killing the engine. */
  cancelGraceMs?: number;
  /** Called with engine log lines and stderr output. */
  onLog?: (line: string) => void;
  /** Called when a forked engine is ready for requests. */
  onReady?: (pid: number) => void;
  /** Called when the engine loads, fails to load or releases its model. */
  onModel?: (event: ModelEvent) => void;
  /** Called when the engine exits without being asked to (crash, OOM kill, external kill). */
  onUnexpectedExit?: (description: string) => void;
  /** What the host runs for the engine (e.g. VS Code LM judging). */
  hostHandlers?: { [H in HostMethod]?: (params: HostMethods[H]['params']) => Promise<HostMethods[H]['result']> };
}

export interface RequestOptions<M extends EngineMethod = EngineMethod> {
  signal?: AbortSignal;
  onProgress?: (progress: Progress) => void;
  /** Streamed pieces of a streaming method's result, validated on arrival (e.g. steering-lab cells). */
  onPartial?: (data: PartialOf<M>) => void;
}

interface Pending {
  method: EngineMethod;
  resolve: (value: unknown) => void;
  reject: (error: EngineError) => void;
  onProgress?: (progress: Progress) => void;
  onPartial?: (data: never) => void;
  killTimer?: NodeJS.Timeout;
  cleanup: () => void;
}

export class EngineClient {
  private child: ChildProcess | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private expectedExit = new WeakSet<ChildProcess>();
  private disposed = false;

  constructor(private readonly options: EngineClientOptions) {}

  /** Process id of the running engine, if one runs. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  get isRunning(): boolean {
    return this.child !== undefined;
  }

  request<M extends EngineMethod>(method: M, params: ParamsOf<M>, options: RequestOptions<M> = {}): Promise<ResultOf<M>> {
    if (this.disposed) return Promise.reject(new EngineError('failed', 'The engine client was disposed.'));
    if (options.signal?.aborted) return Promise.reject(new EngineError('cancelled', 'Cancelled before it started.'));
    const child = this.ensureStarted();
    const id = this.nextId++;
    return new Promise<ResultOf<M>>((resolve, reject) => {
      const onAbort = (): void => this.cancel(id, child);
      const pending: Pending = {
        method,
        resolve: resolve as (value: unknown) => void,
        reject,
        onProgress: options.onProgress,
        onPartial: options.onPartial as ((data: never) => void) | undefined,
        cleanup: () => {
          options.signal?.removeEventListener('abort', onAbort);
          if (pending.killTimer) clearTimeout(pending.killTimer);
        },
      };
      this.pending.set(id, pending);
      options.signal?.addEventListener('abort', onAbort, { once: true });
      this.post(child, { type: 'request', id, method, params });
    });
  }

  /** Hard stop: kills the engine now; pending requests fail with code "killed". The next request restarts it. */
  kill(reason = 'The engine was stopped.'): void {
    const child = this.child;
    if (!child) return;
    this.expectedExit.add(child);
    this.detach(child, 'killed', reason);
    child.kill('SIGKILL');
  }

  dispose(): void {
    this.disposed = true;
    this.kill('The engine was shut down.');
  }

  private ensureStarted(): ChildProcess {
    if (this.child) return this.child;
    const forkOptions: ForkOptions = {
      env: { ...process.env, ...this.options.env },
      execPath: this.options.execPath,
      execArgv: [],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'advanced',
    };
    const child = fork(this.options.enginePath, [], forkOptions);
    this.child = child;
    const log = (chunk: Buffer): void => {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) this.options.onLog?.(line);
    };
    child.stdout?.on('data', log);
    child.stderr?.on('data', log);
    child.on('message', (raw) => this.onMessage(raw));
    child.on('error', (err) => this.options.onLog?.(`Engine process error: ${err.message}`));
    child.on('exit', (code, signal) => {
      if (this.expectedExit.has(child)) return;
      const description = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      const message = `The Persona Lens engine ${description}. It restarts on the next request.`;
      this.detach(child, 'crashed', message);
      this.options.onUnexpectedExit?.(message);
    });
    return child;
  }

  /** Forgets a child and fails its pending requests with the given code. */
  private detach(child: ChildProcess, code: EngineErrorCode, message: string): void {
    if (this.child === child) this.child = undefined;
    const failed = [...this.pending.values()];
    this.pending.clear();
    for (const p of failed) {
      p.cleanup();
      p.reject(new EngineError(code, message));
    }
  }

  private cancel(id: number, child: ChildProcess): void {
    const pending = this.pending.get(id);
    if (!pending || this.child !== child) return;
    this.post(child, { type: 'cancel', id });
    const grace = this.options.cancelGraceMs ?? 3000;
    pending.killTimer = setTimeout(() => {
      if (!this.pending.has(id)) return;
      this.kill(`The engine did not stop within ${grace} ms of the cancel (a model run was still going), so it was stopped; it restarts on the next request.`);
    }, grace);
  }

  private async answerHostCall(callId: number, method: HostMethod, params: unknown): Promise<void> {
    const child = this.child;
    if (!child) return;
    const handler = this.options.hostHandlers?.[method];
    try {
      if (!handler) throw new Error(`the host does not provide "${method}"`);
      this.post(child, { type: 'hostCallResult', callId, result: await handler(params as never) });
    } catch (err) {
      this.post(child, { type: 'hostCallResult', callId, error: err instanceof Error ? err.message : String(err) });
    }
  }

  private post(child: ChildProcess, message: HostToEngine): void {
    if (child.connected) child.send(message);
  }

  private onMessage(raw: unknown): void {
    const message = parseEngineMessage(raw);
    if (!message) {
      this.options.onLog?.(`Ignored a malformed engine message: ${JSON.stringify(raw)?.slice(0, 200)}`);
      return;
    }
    if (message.type === 'ready') {
      this.options.onReady?.(message.pid);
      return;
    }
    if (message.type === 'model') {
      this.options.onModel?.(message.event);
      return;
    }
    if (message.type === 'hostCall') {
      void this.answerHostCall(message.callId, message.method, message.params);
      return;
    }
    if (message.type === 'log') {
      this.options.onLog?.(message.message);
      return;
    }
    const pending = this.pending.get(message.id);
    if (!pending) return;
    if (message.type === 'progress') {
      pending.onProgress?.(message.progress);
      return;
    }
    if (message.type === 'partial') {
      const data = (partialParsers[pending.method] as ((value: unknown) => unknown) | undefined)?.(message.data);
      if (data === undefined) this.options.onLog?.(`Ignored a malformed partial result of "${pending.method}": ${JSON.stringify(message.data)?.slice(0, 200)}`);
      else pending.onPartial?.(data as never);
      return;
    }
    this.pending.delete(message.id);
    pending.cleanup();
    if (message.type === 'result') pending.resolve(message.result);
    else pending.reject(new EngineError(message.error.code, message.error.message));
  }
}
