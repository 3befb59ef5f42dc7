/**
 * The one protocol between the extension (or CLI) and the engine process.
 * Host → engine: request, cancel. Engine → host: ready, progress, result, error, log.
 * Both sides import this module; every method's params and result types are declared once, here.
 */
import type { SelfCheckParams, SelfCheckResult } from '../core/selfCheck';
import type { ModelSummary } from '../core/model/modelRegistry';
import type { ActivationsRequest, ActivationsResult, GenerateTextRequest, GenerateTextResult } from '../core/model/inference';

/** Which model a request runs on, and where its prepared graph is cached. */
export interface ModelRef {
  modelPath: string;
  cacheRoot?: string;
}

export interface EngineInfo {
  pid: number;
  version: string;
  node: string;
  onnxruntime: string;
}

/** Every engine method: its params and result. Later issues add methods here. */
export interface EngineMethods {
  info: { params: Record<string, never>; result: EngineInfo };
  selfCheck: { params: SelfCheckParams; result: SelfCheckResult };
  /** Validates a checkpoint folder without loading weights. */
  inspectModel: { params: { modelPath: string }; result: ModelSummary };
  /** Loads (or keeps) the model, preparing its graph on first use. */
  loadModel: { params: ModelRef; result: ModelSummary };
  generate: { params: ModelRef & GenerateTextRequest; result: GenerateTextResult };
  activations: { params: ModelRef & ActivationsRequest; result: ActivationsResult };
  /** Downloads a hub model into destRoot; returns the local folder. */
  downloadModel: { params: { repoId: string; destRoot: string; revision?: string }; result: { modelPath: string } };
}

export type EngineMethod = keyof EngineMethods;
export type ParamsOf<M extends EngineMethod> = EngineMethods[M]['params'];
export type ResultOf<M extends EngineMethod> = EngineMethods[M]['result'];

export interface Progress {
  done: number;
  total: number;
  message?: string;
}

export type EngineErrorCode =
  /** The request was cancelled and the engine stopped between runs. */
  | 'cancelled'
  /** The engine did not stop within the grace period after cancel and was killed. */
  | 'killed'
  /** The engine process exited or crashed while the request ran. */
  | 'crashed'
  /** The request's params were invalid or the method is unknown. */
  | 'badRequest'
  /** The method failed; message says why and what to do. */
  | 'failed';

export interface EngineErrorPayload {
  code: EngineErrorCode;
  message: string;
}

export type HostToEngine =
  | { type: 'request'; id: number; method: EngineMethod; params: unknown }
  | { type: 'cancel'; id: number };

export type EngineToHost =
  | { type: 'ready'; pid: number }
  | { type: 'progress'; id: number; progress: Progress }
  | { type: 'result'; id: number; result: unknown }
  | { type: 'error'; id: number; error: EngineErrorPayload }
  | { type: 'log'; message: string };

/** Validates a message from the host (the engine trusts nothing it did not check). */
export function parseHostMessage(value: unknown): HostToEngine | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const m = value as Record<string, unknown>;
  if (typeof m.id !== 'number' || !Number.isInteger(m.id)) return undefined;
  if (m.type === 'cancel') return { type: 'cancel', id: m.id };
  if (m.type === 'request' && typeof m.method === 'string') {
    return { type: 'request', id: m.id, method: m.method as EngineMethod, params: m.params ?? {} };
  }
  return undefined;
}

/** Validates a message from the engine. */
export function parseEngineMessage(value: unknown): EngineToHost | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const m = value as Record<string, unknown>;
  switch (m.type) {
    case 'ready':
      return typeof m.pid === 'number' ? { type: 'ready', pid: m.pid } : undefined;
    case 'log':
      return typeof m.message === 'string' ? { type: 'log', message: m.message } : undefined;
    case 'progress': {
      const p = m.progress as Progress | undefined;
      return typeof m.id === 'number' && p && typeof p.done === 'number' && typeof p.total === 'number'
        ? { type: 'progress', id: m.id, progress: p }
        : undefined;
    }
    case 'result':
      return typeof m.id === 'number' ? { type: 'result', id: m.id, result: m.result } : undefined;
    case 'error': {
      const e = m.error as EngineErrorPayload | undefined;
      return typeof m.id === 'number' && e && typeof e.message === 'string' && typeof e.code === 'string'
        ? { type: 'error', id: m.id, error: e }
        : undefined;
    }
    default:
      return undefined;
  }
}
