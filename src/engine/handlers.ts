/**
 * The engine's method table: one async handler per protocol method. Handlers get a RunContext whose
 * checkpoint() is the cancel point between model runs.
 */
import type { EngineMethod, EngineMethods } from '../protocol/engineProtocol';
import type { RunContext } from '../core/cancellation';
import { runSelfCheck } from '../core/selfCheck';
import { loadOnnxRuntime } from '../core/onnx/runtime';
import { VERSION } from '../core/version';
import { ModelRegistry, inspectModel } from '../core/model/modelRegistry';
import { computeActivations, generateText } from '../core/model/inference';
import { downloadFromHub } from '../core/model/hub';

export type Handler<M extends EngineMethod> = (params: EngineMethods[M]['params'], ctx: RunContext) => Promise<EngineMethods[M]['result']>;
export type HandlerTable = { [M in EngineMethod]: Handler<M> };

export function createHandlers(): HandlerTable {
  const models = new ModelRegistry();
  const model = (p: { modelPath: string; cacheRoot?: string }) => {
    if (typeof p.modelPath !== 'string' || !p.modelPath) throw new TypeError('modelPath is required');
    return models.get(p.modelPath, { cacheRoot: p.cacheRoot });
  };
  return {
    info: async () => ({
      pid: process.pid,
      version: VERSION,
      node: process.versions.node,
      onnxruntime: loadOnnxRuntime().env.versions.common ?? 'unknown',
    }),
    selfCheck: (params, ctx) => runSelfCheck(params, ctx),
    inspectModel: async (params) => inspectModel(params.modelPath),
    loadModel: async (params) => {
      await model(params);
      return inspectModel(params.modelPath);
    },
    generate: async (params, ctx) => generateText(await model(params), params, ctx),
    activations: async (params) => computeActivations(await model(params), params),
    downloadModel: async (params, ctx) => {
      const modelPath = await downloadFromHub(params.repoId, params.destRoot, {
        revision: params.revision,
        token: process.env.HF_TOKEN,
        signal: ctx.signal,
        onProgress: (file, done, total) => ctx.progress(done, total, file),
      });
      return { modelPath };
    },
  };
}
