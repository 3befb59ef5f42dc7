/**
 * The one protocol between the extension (or CLI) and the engine process.
 * Host → engine: request, cancel. Engine → host: ready, progress, partial (streamed pieces of a result), result, error, log,
 * model (the model the engine holds: loading, loaded, failed, released).
 * Both sides import this module; every method's params and result types are declared once, here.
 */
import type { SelfCheckParams, SelfCheckResult } from '../core/selfCheck';
import type { ModelEvent, ModelSummary } from '../core/model/modelSummary';
import { isDeviceChoice, type DeviceChoice } from '../core/onnx/deviceChoice';
import type { ActivationsRequest, ActivationsResult, GenerateTextRequest, GenerateTextResult } from '../core/model/inference';

import type { ChatRequest, ChatResponse } from '../core/providers/chatProvider';
import type { TraitDefinition } from '../core/traits/trait';
import type { ExtractionOptions, LayerSeparation } from '../core/extraction/extract';
import type { Recommendation, SteeringValidation } from '../core/extraction/layerSearch';
import type { SweepSummary } from '../core/extraction/steeringSweep';
import type { ScreenRequest, ScreenResult } from '../core/screening/screenDataset';
import type { ShiftReport } from '../core/finetuning/finetuningShift';
import type { SteeringLabRequest } from '../core/extraction/steeringLab';
import { parseSteeringLabCell, type SteeringLabCell } from '../core/extraction/steeringLabResults';
import type { MonitorRequest, MonitorResult } from '../core/monitoring/monitor';
import { isWeightPrecisionChoice, type WeightPrecision, type WeightPrecisionChoice } from '../core/model/weightPrecision';
import { isFiniteNumber, isObject } from '../core/validate';

export type { ScreenResult } from '../core/screening/screenDataset';

/** Which judge an engine job uses (the one judge factory's spec). "host" judges run in the extension host (VS Code LM API) via hostCall. */
export type { JudgeSpec } from '../core/judges/judgeFactory';
import type { JudgeSpec } from '../core/judges/judgeFactory';

export interface ExtractParams extends ModelRef {
  trait: TraitDefinition;
  judge: JudgeSpec;
  options: Omit<ExtractionOptions, 'cacheRoot'>;
  /** Where to write the vector file (.safetensors). */
  outPath: string;
  modelLabel: string;
}

export interface ExtractSummary {
  outPath: string;
  keptPairs: number;
  totalPairs: number;
  judge: string;
  weakJudge: boolean;
  separation: LayerSeparation[];
  sweep: SweepSummary[];
  recommended?: Recommendation;
  validation?: SteeringValidation;
}

/** The engine's `screen` request: the dataset and vectors (core's `ScreenRequest`) on a model. */
export interface ScreenParams extends ModelRef, ScreenRequest {}

/** Calls the engine makes to the host while a request runs (the host owns VS Code APIs and credentials). */
export interface HostMethods {
  chatComplete: { params: { provider: string; request: ChatRequest }; result: ChatResponse };
}
export type HostMethod = keyof HostMethods;

/** Which model a request runs on, and where its prepared graph is cached. */
export interface ModelRef {
  modelPath: string;
  cacheRoot?: string;
  /** A PEFT LoRA adapter folder merged onto modelPath at load. */
  adapterPath?: string;
  /** Weight precision (`personaLens.engine.weights`; default auto). */
  weights?: WeightPrecisionChoice;
  /** Where the graph runs (`personaLens.engine.device`; default auto). */
  device?: DeviceChoice;
}

export interface ShiftParams {
  basePath: string;
  tuned: { modelPath: string } | { adapterPath: string };
  vectorPaths: string[];
  layer?: number;
  traitFolders?: string[];
  /** Judge for both models' trait scores; none skips judging. */
  judge: JudgeSpec | { kind: 'none' };
  questions?: number;
  maxTokens?: number;
  cacheRoot?: string;
  weights?: WeightPrecisionChoice;
  device?: DeviceChoice;
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
  inspectModel: { params: { modelPath: string; weights?: WeightPrecisionChoice }; result: ModelSummary };
  /** Loads (or keeps) the model, preparing its graph on first use. */
  loadModel: { params: ModelRef; result: ModelSummary };
  generate: { params: ModelRef & GenerateTextRequest; result: GenerateTextResult };
  activations: { params: ModelRef & ActivationsRequest; result: ActivationsResult };
  /** Downloads a hub model into destRoot; returns the local folder. */
  downloadModel: { params: { repoId: string; destRoot: string; revision?: string }; result: { modelPath: string } };
  /** The paper's extraction pipeline; writes the vector file. */
  extract: { params: ExtractParams; result: ExtractSummary };
  /** Scores a dataset against persona vectors. */
  screen: { params: ScreenParams; result: ScreenResult };
  /** Finetuning shift of a fine-tune (or LoRA adapter) against its base along persona vectors. */
  shift: { params: ShiftParams; result: ShiftReport };
  /** The panel's steering lab; streams every finished cell as a `partial` before the result. */
  steeringLab: { params: SteeringLabParams; result: SteeringLabResult; partial: SteeringLabCell };
  /** The panel's live monitor: last-prompt-token projections on every vector and per-token ones on one. */
  monitor: { params: ModelRef & MonitorRequest; result: MonitorResult };
}

export type EngineMethod = keyof EngineMethods;
export type ParamsOf<M extends EngineMethod> = EngineMethods[M]['params'];
export type ResultOf<M extends EngineMethod> = EngineMethods[M]['result'];
/** What a method streams before its result (`never` for methods that do not stream). */
export type PartialOf<M extends EngineMethod> = EngineMethods[M] extends { partial: infer P } ? P : never;

export interface SteeringLabParams extends ModelRef, SteeringLabRequest {
  judge: JudgeSpec;
}

export interface SteeringLabResult {
  cells: SteeringLabCell[];
  judge: string;
  weakJudge: boolean;
}

/** Validators of streamed partial results, per streaming method; the client applies them on arrival. */
export const partialParsers: { [M in EngineMethod]?: (value: unknown) => PartialOf<M> | undefined } = {
  steeringLab: parseSteeringLabCell,
};

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
  | { type: 'cancel'; id: number }
  | { type: 'hostCallResult'; callId: number; result?: unknown; error?: string };

export type EngineToHost =
  | { type: 'ready'; pid: number }
  | { type: 'progress'; id: number; progress: Progress }
  | { type: 'result'; id: number; result: unknown }
  | { type: 'error'; id: number; error: EngineErrorPayload }
  | { type: 'log'; message: string }
  | { type: 'model'; event: ModelEvent }
  | { type: 'hostCall'; id: number; callId: number; method: HostMethod; params: unknown }
  /** A piece of a streaming method's result (typed by PartialOf, validated by partialParsers). */
  | { type: 'partial'; id: number; data: unknown };

/** Validates a message from the host (the engine trusts nothing it did not check). */
export function parseHostMessage(value: unknown): HostToEngine | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const m = value as Record<string, unknown>;
  if (m.type === 'hostCallResult' && typeof m.callId === 'number') {
    return { type: 'hostCallResult', callId: m.callId, result: m.result, error: typeof m.error === 'string' ? m.error : undefined };
  }
  if (typeof m.id !== 'number' || !Number.isInteger(m.id)) return undefined;
  if (m.type === 'cancel') return { type: 'cancel', id: m.id };
  if (m.type === 'request' && typeof m.method === 'string') {
    return { type: 'request', id: m.id, method: m.method as EngineMethod, params: m.params ?? {} };
  }
  return undefined;
}

export type { ModelEvent };

function parseModelSummary(value: unknown): ModelSummary | undefined {
  if (!isObject(value)) return undefined;
  const numbers = ['layers', 'hiddenSize', 'vocabSize', 'parameters', 'requiredBytes', 'availableBytes'] as const;
  const strings = ['path', 'name', 'architecture', 'fingerprint'] as const;
  if (!numbers.every((k) => isFiniteNumber(value[k])) || !strings.every((k) => typeof value[k] === 'string')) return undefined;
  if (value.format !== 'safetensors' && value.format !== 'gguf') return undefined;
  const device = value.device;
  if (device !== undefined && !(isObject(device) && isDeviceChoice(device.device) && device.device !== 'auto' && typeof device.reason === 'string')) return undefined;
  return value.precision !== 'auto' && isWeightPrecisionChoice(value.precision) ? (value as unknown as ModelSummary) : undefined;
}

function parseModelEvent(value: unknown): ModelEvent | undefined {
  if (!isObject(value) || typeof value.modelPath !== 'string' || !isWeightPrecisionChoice(value.weights)) return undefined;
  if (value.adapterPath !== undefined && typeof value.adapterPath !== 'string') return undefined;
  if (value.device !== undefined && !isDeviceChoice(value.device)) return undefined;
  const ref = { modelPath: value.modelPath, weights: value.weights, ...(value.adapterPath !== undefined ? { adapterPath: value.adapterPath as string } : {}), ...(value.device !== undefined ? { device: value.device } : {}) };
  switch (value.state) {
    case 'loading':
    case 'released':
      return { ...ref, state: value.state };
    case 'failed':
      return typeof value.message === 'string' ? { ...ref, state: 'failed', message: value.message } : undefined;
    case 'loaded': {
      const summary = parseModelSummary(value.summary);
      return summary && isFiniteNumber(value.seconds) ? { ...ref, state: 'loaded', summary, seconds: value.seconds } : undefined;
    }
    default:
      return undefined;
  }
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
    case 'model': {
      const event = parseModelEvent(m.event);
      return event ? { type: 'model', event } : undefined;
    }
    case 'progress': {
      const p = m.progress as Progress | undefined;
      return typeof m.id === 'number' && p && typeof p.done === 'number' && typeof p.total === 'number'
        ? { type: 'progress', id: m.id, progress: p }
        : undefined;
    }
    case 'result':
      return typeof m.id === 'number' ? { type: 'result', id: m.id, result: m.result } : undefined;
    case 'partial':
      return typeof m.id === 'number' && 'data' in m ? { type: 'partial', id: m.id, data: m.data } : undefined;
    case 'hostCall':
      return typeof m.id === 'number' && typeof m.callId === 'number' && m.method === 'chatComplete'
        ? { type: 'hostCall', id: m.id, callId: m.callId, method: m.method, params: m.params }
        : undefined;
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
