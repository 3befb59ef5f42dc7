/**
 * The engine's method table: one async handler per protocol method. Handlers get a RunContext whose
 * checkpoint() is the cancel point between model runs.
 */
import type { EngineMethod, EngineMethods } from '../protocol/engineProtocol';
import type { RunContext } from '../core/cancellation';
import { runSelfCheck } from '../core/selfCheck';
import { loadOnnxRuntime } from '../core/onnx/runtime';
import { VERSION } from '../core/version';

export type Handler<M extends EngineMethod> = (params: EngineMethods[M]['params'], ctx: RunContext) => Promise<EngineMethods[M]['result']>;
export type HandlerTable = { [M in EngineMethod]: Handler<M> };

export function createHandlers(): HandlerTable {
  return {
    info: async () => ({
      pid: process.pid,
      version: VERSION,
      node: process.versions.node,
      onnxruntime: loadOnnxRuntime().env.versions.common ?? 'unknown',
    }),
    selfCheck: (params, ctx) => runSelfCheck(params, ctx),
  };
}
