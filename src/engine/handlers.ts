/**
 * The engine's method table: one async handler per protocol method. Handlers get a RunContext whose
 * checkpoint() is the cancel point between model runs.
 */
import type { EngineMethod, EngineMethods, HostMethod, HostMethods, JudgeSpec, PartialOf } from '../protocol/engineProtocol';
import type { RunContext } from '../core/cancellation';
import { runSelfCheck } from '../core/selfCheck';
import { loadOnnxRuntime } from '../core/onnx/runtime';
import { resolveDeviceOnce } from '../core/onnx/devices';
import { isDeviceChoice, DEVICE_CHOICES, type DeviceChoice } from '../core/onnx/deviceChoice';
import { VERSION } from '../core/version';
import { ModelRegistry, inspectModel, type ModelEvent, type ModelLease } from '../core/model/modelRegistry';
import { computeActivations, generateText } from '../core/model/inference';
import { downloadFromHub } from '../core/model/hub';
import { extractPersonaVector } from '../core/extraction/extract';
import { summarizeCell } from '../core/extraction/steeringSweep';
import { writePersonaVector } from '../core/vectors/personaVectorFile';
import { traitHash, validateTrait } from '../core/traits/traitFile';
import { defaultCacheRoot } from '../core/model/weightStore';
import type { Judge } from '../core/judges/judge';
import { createJudge } from '../core/judges/judgeFactory';
import { screenDataset } from '../core/screening/screenDataset';
import { measureFinetuningShift } from '../core/finetuning/finetuningShift';
import type { LoadedModel } from '../core/model/loadedModel';
import { runSteeringLab } from '../core/extraction/steeringLab';
import { monitorText } from '../core/monitoring/monitor';
import { isWeightPrecisionChoice, WEIGHT_PRECISIONS, type WeightPrecisionChoice } from '../core/model/weightPrecision';

/** The judge an engine job asked for, from the one judge factory; host judges answer through hostCall. */
function judgeFor(spec: JudgeSpec, model: LoadedModel | undefined, modelPath: string, host: HostBridge): Judge {
  return createJudge(spec, { modelPath, model, hostComplete: (provider, request) => host.call('chatComplete', { provider, request }) });
}

/** Calls back into the host (for judges that live there). */
export interface HostBridge {
  call<H extends HostMethod>(method: H, params: HostMethods[H]['params']): Promise<HostMethods[H]['result']>;
}

/** `emit` sends a piece of a streaming method's result to the host as it is ready (a `partial` message). */
export type Handler<M extends EngineMethod> = (params: EngineMethods[M]['params'], ctx: RunContext, host: HostBridge, emit: (data: PartialOf<M>) => void) => Promise<EngineMethods[M]['result']>;
export type HandlerTable = { [M in EngineMethod]: Handler<M> };

/** `onModelEvent` hears the one loaded model's loads and releases (main.ts tells the host and logs them). */
export function createHandlers(onModelEvent?: (event: ModelEvent) => void): HandlerTable {
  const models = new ModelRegistry(onModelEvent);
  type Ref = { modelPath: string; cacheRoot?: string; adapterPath?: string; weights?: WeightPrecisionChoice; device?: DeviceChoice };
  const options = (p: Ref) => {
    if (typeof p.modelPath !== 'string' || !p.modelPath) throw new TypeError('modelPath is required');
    if (p.weights !== undefined && !isWeightPrecisionChoice(p.weights)) throw new TypeError(`weights must be one of ${WEIGHT_PRECISIONS.join(', ')}`);
    if (p.device !== undefined && !isDeviceChoice(p.device)) throw new TypeError(`device must be one of ${DEVICE_CHOICES.join(', ')}`);
    return { cacheRoot: p.cacheRoot, adapter: p.adapterPath, weights: p.weights, device: p.device };
  };
  /** Every handler that runs a model holds it for the whole request (see ModelRegistry). */
  const withModel = <T>(p: Ref, fn: (model: LoadedModel) => Promise<T>) => models.use(p.modelPath, options(p), fn);
  return {
    info: async () => ({
      pid: process.pid,
      version: VERSION,
      node: process.versions.node,
      onnxruntime: loadOnnxRuntime().env.versions.common ?? 'unknown',
    }),
    selfCheck: async (params, ctx) => runSelfCheck(params, ctx, (await resolveDeviceOnce(params.device ?? 'cpu')).device),
    inspectModel: async (params) => inspectModel(params.modelPath, options(params).weights),
    loadModel: async (params) => {
      const device = await withModel(params, async (loaded) => loaded.device);
      return { ...(await inspectModel(params.modelPath, options(params).weights)), device };
    },
    generate: (params, ctx) => withModel(params, (loaded) => generateText(loaded, params, ctx)),
    activations: (params) => withModel(params, (loaded) => computeActivations(loaded, params)),
    extract: (params, ctx, host) => withModel(params, async (loaded) => {
      const trait = validateTrait(params.trait, `trait ${params.trait?.name ?? ''}`);
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
        sweep: result.sweep.map(summarizeCell),
        recommended: result.recommended,
        validation: result.validation,
      };
    }),
    steeringLab: async (params, ctx, host, emit) => {
      if (!Array.isArray(params.vectorPaths) || !Array.isArray(params.coefficients) || !Array.isArray(params.traitFolders)) throw new TypeError('vectorPaths, traitFolders and coefficients are required');
      return withModel(params, async (loaded) => {
        const judge = judgeFor(params.judge, loaded, params.modelPath, host);
        const cells = await runSteeringLab(loaded, params.modelPath, judge, params, ctx, emit);
        return { cells, judge: judge.id, weakJudge: judge.weak };
      });
    },
    monitor: (params) => withModel(params, (loaded) => monitorText(loaded, params)),
    shift: (params, ctx, host) => {
      const leases = new Map<LoadedModel, ModelLease>();
      return measureFinetuningShift(
        { ...params, profile: { questions: params.questions, maxTokens: params.maxTokens } },
        {
          load: async (side) => {
            const lease = await models.acquire(side.modelPath, options({ ...side, cacheRoot: params.cacheRoot, weights: params.weights, device: params.device }));
            leases.set(lease.model, lease);
            return lease.model;
          },
          release: async (loaded) => leases.get(loaded)?.release(),
          judgeFor: () => {
            const spec = params.judge;
            if (spec.kind === 'none') return { unavailable: 'judging skipped' };
            if (spec.kind === 'self') return { unavailable: 'a self-judge would let each model grade itself; choose another judge to compare scores' };
            return judgeFor(spec, undefined, params.basePath, host);
          },
        },
        ctx,
      );
    },
    screen: (params, ctx) => withModel(params, (loaded) => screenDataset(loaded, { ...params, cacheRoot: params.cacheRoot ?? defaultCacheRoot() }, ctx)),
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
