/**
 * What the host is told about a model: its summary (Select Model…, the engine card, the log) and the events of the
 * engine's one loaded model. No model code here: the extension host and the webview's protocol import it.
 */
import type { Architecture } from './config';
import type { WeightPrecision, WeightPrecisionChoice } from './weightPrecision';
import type { ResolvedDevice } from '../onnx/devices';
import type { DeviceChoice } from '../onnx/deviceChoice';

export interface ModelSummary {
  path: string;
  /** The model's name (folder, GGUF general.name, or ollama:NAME:TAG). */
  name: string;
  format: 'safetensors' | 'gguf';
  architecture: Architecture;
  layers: number;
  hiddenSize: number;
  vocabSize: number;
  parameters: number;
  /** The precision the model would load at (the `weights` choice resolved, e.g. auto → int4). */
  precision: WeightPrecision;
  /** Memory the engine needs at that precision. */
  requiredBytes: number;
  availableBytes: number;
  /** The weights as they run at that precision (runFingerprint): what a vector extracted on them records. */
  fingerprint: string;
  /** Where a loaded model runs and why (absent before a load: inspectModel opens no session). */
  device?: ResolvedDevice;
}

/** One line about a model for messages and the log: name, format, architecture, shape, size at its precision. */
export function describeModel(m: ModelSummary): string {
  return `${m.name}: ${m.format === 'gguf' ? 'GGUF ' : ''}${m.architecture}, ${m.layers} layers, d=${m.hiddenSize}, ${formatParameters(m.parameters)} (~${formatBytes(m.requiredBytes)} at ${m.precision})`;
}

export function formatParameters(parameters: number): string {
  return parameters >= 1e9 ? `${(parameters / 1e9).toFixed(2)} B parameters` : `${(parameters / 1e6).toFixed(1)} M parameters`;
}

/** Bytes as MiB below 1 GiB, else GiB (a bundled organism is a few MiB, a 7B model several GiB). */
export function formatBytes(bytes: number): string {
  return bytes < 1024 ** 3 ? `${(bytes / 1024 ** 2).toFixed(1)} MiB` : `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
}

/** Which model the registry holds, as it changes: what the engine tells the host about (the `model` message). */
export type ModelEvent = { modelPath: string; adapterPath?: string; weights: WeightPrecisionChoice; device?: DeviceChoice } & (
  | { state: 'loading' }
  | { state: 'loaded'; summary: ModelSummary; seconds: number }
  | { state: 'failed'; message: string }
  | { state: 'released' }
);
