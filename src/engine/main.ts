/**
 * Entry of the engine process, forked by the extension (with ELECTRON_RUN_AS_NODE=1) or the CLI.
 * It owns onnxruntime and the models; onnxruntime's run() blocks this process's event loop, never the host's.
 */
import { parseHostMessage, type EngineToHost, type EngineErrorCode } from '../protocol/engineProtocol';
import { CancelledError, runContext } from '../core/cancellation';
import { createHandlers, type Handler } from './handlers';
import { paramsProblem } from '../protocol/engineParams';
import type { EngineMethod, HostMethod, HostMethods } from '../protocol/engineProtocol';
import { modelEventLine, RequestLog } from './engineLog';
import { VERSION } from '../core/version';

const running = new Map<number, AbortController>();
const hostCalls = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
let nextCallId = 1;

/** Asks the host to run something only it can (VS Code APIs); answered by a hostCallResult message. */
function callHost<M extends HostMethod>(requestId: number, method: M, params: HostMethods[M]['params']): Promise<HostMethods[M]['result']> {
  const callId = nextCallId++;
  return new Promise((resolve, reject) => {
    hostCalls.set(callId, { resolve: resolve as (v: unknown) => void, reject });
    send({ type: 'hostCall', id: requestId, callId, method, params });
  });
}

function send(message: EngineToHost): void {
  process.send?.(message);
}

const log = (line: string) => send({ type: 'log', message: line });

const handlers = createHandlers((event) => {
  send({ type: 'model', event });
  log(modelEventLine(event));
});

async function handleRequest(id: number, method: EngineMethod, params: unknown): Promise<void> {
  const handler = handlers[method] as Handler<EngineMethod> | undefined;
  if (!handler) {
    log(`[engine] refused request #${id}: unknown method "${String(method)}"`);
    send({ type: 'error', id, error: { code: 'badRequest', message: `Unknown engine method "${String(method)}"` } });
    return;
  }
  const problem = paramsProblem(method, params);
  if (problem) {
    log(`[${method} #${id}] refused: ${problem}`);
    send({ type: 'error', id, error: { code: 'badRequest', message: `${method}: ${problem}` } });
    return;
  }
  const controller = new AbortController();
  running.set(id, controller);
  const requestLog = new RequestLog(method, id, log);
  try {
    const ctx = runContext(
      controller.signal,
      (done, total, message) => {
        requestLog.progress(done, total, message);
        send({ type: 'progress', id, progress: { done, total, message } });
      },
      (line) => requestLog.line(line),
    );
    const result = await handler(params as never, ctx, { call: (method, p) => callHost(id, method, p) }, (data) => send({ type: 'partial', id, data }));
    requestLog.finished({ state: 'done' });
    send({ type: 'result', id, result });
  } catch (err) {
    // A judge or download that stops on the abort signal throws an AbortError: that is a cancel too.
    const cancelled = err instanceof CancelledError || (err instanceof Error && err.name === 'AbortError' && controller.signal.aborted);
    // Params were checked on arrival (paramsProblem): whatever a handler throws is a failure of the work, not of the request.
    const code: EngineErrorCode = cancelled ? 'cancelled' : 'failed';
    const message = err instanceof Error ? err.message : String(err);
    requestLog.finished(cancelled ? { state: 'cancelled' } : { state: 'failed', message });
    send({ type: 'error', id, error: { code, message } });
  } finally {
    running.delete(id);
  }
}

process.on('message', (raw) => {
  const message = parseHostMessage(raw);
  if (!message) {
    send({ type: 'log', message: `Ignored a malformed message: ${JSON.stringify(raw)?.slice(0, 200)}` });
    return;
  }
  if (message.type === 'cancel') running.get(message.id)?.abort();
  else if (message.type === 'hostCallResult') {
    const call = hostCalls.get(message.callId);
    hostCalls.delete(message.callId);
    if (message.error !== undefined) call?.reject(new Error(message.error));
    else call?.resolve(message.result);
  } else void handleRequest(message.id, message.method, message.params);
});

// The host going away (closed IPC channel) ends the engine: it must never outlive its owner.
process.on('disconnect', () => process.exit(0));
process.on('uncaughtException', (err) => {
  send({ type: 'log', message: `Engine error: ${err.stack ?? err.message}` });
  process.exit(1);
});

log(`[engine] started: pid ${process.pid}, Persona Lens ${VERSION}, Node ${process.versions.node}`);
send({ type: 'ready', pid: process.pid });
