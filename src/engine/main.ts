/**
 * Entry of the engine process, forked by the extension (with ELECTRON_RUN_AS_NODE=1) or the CLI.
 * It owns onnxruntime and the models; onnxruntime's run() blocks this process's event loop, never the host's.
 */
import { parseHostMessage, type EngineToHost, type EngineErrorCode } from '../protocol/engineProtocol';
import { CancelledError, runContext } from '../core/cancellation';
import { createHandlers, type Handler } from './handlers';
import { paramsProblem } from '../protocol/engineParams';
import type { EngineMethod, HostMethod, HostMethods } from '../protocol/engineProtocol';

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

const handlers = createHandlers();

function send(message: EngineToHost): void {
  process.send?.(message);
}

async function handleRequest(id: number, method: EngineMethod, params: unknown): Promise<void> {
  const handler = handlers[method] as Handler<EngineMethod> | undefined;
  if (!handler) {
    send({ type: 'error', id, error: { code: 'badRequest', message: `Unknown engine method "${String(method)}"` } });
    return;
  }
  const problem = paramsProblem(method, params);
  if (problem) {
    send({ type: 'error', id, error: { code: 'badRequest', message: `${method}: ${problem}` } });
    return;
  }
  const controller = new AbortController();
  running.set(id, controller);
  try {
    const ctx = runContext(
      controller.signal,
      (done, total, message) => send({ type: 'progress', id, progress: { done, total, message } }),
      (line) => send({ type: 'log', message: line }),
    );
    const result = await handler(params as never, ctx, { call: (method, p) => callHost(id, method, p) }, (data) => send({ type: 'partial', id, data }));
    send({ type: 'result', id, result });
  } catch (err) {
    // A judge or download that stops on the abort signal throws an AbortError: that is a cancel too.
    const cancelled = err instanceof CancelledError || (err instanceof Error && err.name === 'AbortError' && controller.signal.aborted);
    // Params were checked on arrival (paramsProblem): whatever a handler throws is a failure of the work, not of the request.
    const code: EngineErrorCode = cancelled ? 'cancelled' : 'failed';
    send({ type: 'error', id, error: { code, message: err instanceof Error ? err.message : String(err) } });
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

send({ type: 'ready', pid: process.pid });
