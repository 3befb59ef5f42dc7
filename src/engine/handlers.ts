/**
 * The engine's method table: one async handler per protocol method. Handlers get a RunContext whose
 * checkpoint() is the cancel point between model runs.
 */
import type { EngineMethod, EngineMethods, HostMethod, HostMethods, JudgeSpec } from '../protocol/engineProtocol';
import type { RunContext } from '../core/cancellation';
import { runSelfCheck } from '../core/selfCheck';
import { loadOnnxRuntime } from '../core/onnx/runtime';
import { VERSION } from '../core/version';
import { ModelRegistry, inspectModel } from '../core/model/modelRegistry';
import { computeActivations, generateText } from '../core/model/inference';
import { downloadFromHub } from '../core/model/hub';
import { extractPersonaVector } from '../core/extraction/extract';
import { writePersonaVector } from '../core/vectors/personaVectorFile';
import { traitHash, validateTrait } from '../core/traits/traitFile';
import { defaultCacheRoot } from '../core/model/weightStore';
import { resolveLocalJudge } from '../core/judges/resolveJudge';
import { ProviderJudge } from '../core/judges/providerJudge';
import { OpenAIProvider } from '../core/providers/openaiProvider';
import { LocalModelProvider } from '../core/providers/localModelProvider';
import type { Judge } from '../core/judges/judge';
import { screenDataset } from '../core/screening/screenDataset';
import type { LoadedModel } from '../core/model/loadedModel';

/** Builds the judge an engine job asked for. */
function judgeFor(spec: JudgeSpec, model: LoadedModel, modelPath: string, host: HostBridge): Judge {
  switch (spec.kind) {
    case 'lexicon':
      return resolveLocalJudge('lexicon', modelPath);
    case 'openai':
      return new ProviderJudge(new OpenAIProvider({ baseUrl: spec.baseUrl, model: spec.model, apiKey: spec.apiKey, concurrency: spec.concurrency }));
    case 'self':
      return new ProviderJudge(new LocalModelProvider(model), { weak: true });
    case 'host':
      return new ProviderJudge({ id: spec.id, supportsLogprobs: false, complete: (request) => host.call('chatComplete', { provider: spec.id, request }) });
    default:
      throw new TypeError(`unknown judge kind ${(spec as { kind?: string }).kind}`);
  }
}

/** Calls back into the host (for judges that live there). */
export interface HostBridge {
  call<H extends HostMethod>(method: H, params: HostMethods[H]['params']): Promise<HostMethods[H]['result']>;
}

export type Handler<M extends EngineMethod> = (params: EngineMethods[M]['params'], ctx: RunContext, host: HostBridge) => Promise<EngineMethods[M]['result']>;
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
    extract: async (params, ctx, host) => {
      const trait = validateTrait(params.trait, `trait ${params.trait?.name ?? ''}`);
      const loaded = await model(params);
      const judge = judgeFor(params.judge, loaded, params.modelPath, host);
      const result = await extractPersonaVector(loaded, trait, judge, { ...params.options, cacheRoot: params.cacheRoot ?? defaultCacheRoot() }, ctx);
      writePersonaVector(params.outPath, result, {
        model: params.modelLabel,
        modelFingerprint: loaded.checkpoint.fingerprint,
        architecture: loaded.checkpoint.spec.architecture,
        traitHash: traitHash(trait),
      });
      return {
        outPath: params.outPath,
        keptPairs: result.keptPairs,
        totalPairs: result.totalPairs,
        judge: result.judge,
        weakJudge: judge.weak,
        separation: result.separation,
        sweep: result.sweep.map(({ row, coefficient, meanTrait, meanCoherence, relativeStrength }) => ({ row, coefficient, meanTrait, meanCoherence, relativeStrength })),
        recommended: result.recommended,
      };
    },
    screen: async (params, ctx) => screenDataset(await model(params), { ...params, cacheRoot: params.cacheRoot ?? defaultCacheRoot() }, ctx),
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
