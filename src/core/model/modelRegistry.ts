/**
 * Keeps at most one model loaded (models are large): asking for another path releases the current one.
 * Used by the engine process; the CLI loads directly.
 */
import { loadModel, runFingerprint, type LoadedModel, type LoadOptions } from './loadedModel';
import { estimateMemory, precisionFor, type Checkpoint } from './checkpoint';
import { openModel } from './openModel';
import type { ModelEvent, ModelSummary } from './modelSummary';
import type { WeightPrecision, WeightPrecisionChoice } from './weightPrecision';
import type { ResolvedDevice } from '../onnx/devices';
import type { DeviceChoice } from '../onnx/deviceChoice';

export type { ModelEvent, ModelSummary };

/** `checkpoint.fingerprint` is taken as it is: a loaded model's already is its run fingerprint. */
function summarize(modelPath: string, checkpoint: Checkpoint, precision: WeightPrecision, fingerprint: string, device?: ResolvedDevice): ModelSummary {
  const memory = estimateMemory(checkpoint.spec, precision);
  return {
    path: modelPath,
    name: checkpoint.displayName,
    format: checkpoint.format,
    architecture: checkpoint.spec.architecture,
    layers: checkpoint.spec.numLayers,
    hiddenSize: checkpoint.spec.hiddenSize,
    vocabSize: checkpoint.spec.vocabSize,
    parameters: memory.parameters,
    precision,
    requiredBytes: memory.requiredBytes,
    availableBytes: memory.availableBytes,
    fingerprint,
    ...(device ? { device } : {}),
  };
}

/** `modelPath`: a checkpoint folder, a .gguf file or ollama:NAME[:TAG]. */
export async function inspectModel(modelPath: string, weights: WeightPrecisionChoice = 'auto'): Promise<ModelSummary> {
  const ckpt = await openModel(modelPath);
  const precision = precisionFor(ckpt.spec, weights);
  return summarize(modelPath, ckpt, precision, runFingerprint(ckpt.fingerprint, precision));
}

/** A loaded model held for one piece of work; release it when done so another model may be loaded. */
export interface ModelLease {
  model: LoadedModel;
  release(): void;
}

interface Entry {
  key: string;
  /** What events about this entry say it is. */
  ref: { modelPath: string; adapterPath?: string; weights: WeightPrecisionChoice; device: DeviceChoice };
  model: Promise<LoadedModel>;
  users: number;
  idle: (() => void)[];
}

/**
 * Requests run concurrently in the engine (a monitor update while a sweep runs), so a model is never released
 * while someone uses it: a request for another model waits until every lease on the current one is returned.
 * Switches are queued in arrival order.
 */
export class ModelRegistry {
  private current: Entry | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  /** `onEvent` hears every load (started, done, failed) and release. */
  constructor(private readonly onEvent: (event: ModelEvent) => void = () => undefined) {}

  /** Runs fn with the model loaded, holding it for fn's duration. */
  async use<T>(dir: string, options: LoadOptions, fn: (model: LoadedModel) => Promise<T>): Promise<T> {
    const lease = await this.acquire(dir, options);
    try {
      return await fn(lease.model);
    } finally {
      lease.release();
    }
  }

  async acquire(dir: string, options: LoadOptions = {}): Promise<ModelLease> {
    const key = `${dir}\0${options.cacheRoot ?? ''}\0${options.adapter ?? ''}\0${options.weights ?? 'auto'}\0${options.device ?? 'auto'}`;
    const turn = this.queue.then(async () => {
      if (this.current?.key !== key) {
        const previous = this.current;
        if (previous && previous.users > 0) await new Promise<void>((resolve) => previous.idle.push(resolve));
        await this.release();
        const ref = { modelPath: dir, adapterPath: options.adapter, weights: options.weights ?? 'auto', device: options.device ?? 'auto' };
        this.onEvent({ ...ref, state: 'loading' });
        const started = Date.now();
        const model = loadModel(dir, options);
        const entry: Entry = { key, ref, model, users: 0, idle: [] };
        this.current = entry;
        model.then(
          (loaded) => this.onEvent({ ...ref, state: 'loaded', summary: summarize(dir, loaded.checkpoint, loaded.precision, loaded.checkpoint.fingerprint, loaded.device), seconds: (Date.now() - started) / 1000 }),
          (err: unknown) => {
            if (this.current === entry) this.current = undefined;
            this.onEvent({ ...ref, state: 'failed', message: err instanceof Error ? err.message : String(err) });
          },
        );
      }
      const entry = this.current!;
      entry.users++;
      return entry;
    });
    this.queue = turn.catch(() => undefined);
    const entry = await turn;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      if (--entry.users === 0) for (const resolve of entry.idle.splice(0)) resolve();
    };
    try {
      return { model: await entry.model, release };
    } catch (err) {
      release();
      throw err;
    }
  }

  /** Releases the current model (callers make sure nobody holds a lease: acquire does). */
  async release(): Promise<void> {
    const previous = this.current;
    this.current = undefined;
    if (!previous) return;
    const released = await previous.model.then(async (m) => {
      await m.session.release();
      return true;
    }, () => false);
    if (released) this.onEvent({ ...previous.ref, state: 'released' });
  }
}
