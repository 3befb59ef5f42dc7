/**
 * The single place that loads onnxruntime-node. Loaded lazily so that importing core modules (or activating
 * the extension) never loads the native runtime.
 */
import type * as OrtModule from 'onnxruntime-node';

let ort: typeof OrtModule | undefined;

export function loadOnnxRuntime(): typeof OrtModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  ort ??= require('onnxruntime-node') as typeof OrtModule;
  return ort;
}

export type Ort = typeof OrtModule;
