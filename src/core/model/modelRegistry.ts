/**
 * Keeps at most one model loaded (models are large): asking for another path releases the current one.
 * Used by the engine process; the CLI loads directly.
 */
import { loadModel, type LoadedModel, type LoadOptions } from './loadedModel';
import { estimateMemory, precisionFor } from './checkpoint';
import { openModel } from './openModel';
import type { Architecture } from './config';
import type { WeightPrecision, WeightPrecisionChoice } from './quantize';

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
  fingerprint: string;
}

/** `modelPath`: a checkpoint folder, a .gguf file or ollama:NAME[:TAG]. */
export async function inspectModel(modelPath: string, weights: WeightPrecisionChoice = 'auto'): Promise<ModelSummary> {
  const ckpt = await openModel(modelPath);
  const precision = precisionFor(ckpt.spec, weights);
  const memory = estimateMemory(ckpt.spec, precision);
  return {
    path: modelPath,
    name: ckpt.displayName,
    format: ckpt.format,
    architecture: ckpt.spec.architecture,
    layers: ckpt.spec.numLayers,
    hiddenSize: ckpt.spec.hiddenSize,
    vocabSize: ckpt.spec.vocabSize,
    parameters: memory.parameters,
    precision,
    requiredBytes: memory.requiredBytes,
    availableBytes: memory.availableBytes,
    fingerprint: ckpt.fingerprint,
  };
}

/** A loaded model held for one piece of work; release it when done so another model may be loaded. */
export interface ModelLease {
  model: LoadedModel;
  release(): void;
}

interface Entry {
  key: string;
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
    const key = `${dir}\0${options.cacheRoot ?? ''}\0${options.adapter ?? ''}\0${options.weights ?? 'auto'}`;
    const turn = this.queue.then(async () => {
      if (this.current?.key !== key) {
        const previous = this.current;
        if (previous && previous.users > 0) await new Promise<void>((resolve) => previous.idle.push(resolve));
        await this.release();
        const model = loadModel(dir, options);
        const entry: Entry = { key, model, users: 0, idle: [] };
        this.current = entry;
        model.catch(() => {
          if (this.current === entry) this.current = undefined;
        });
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
    if (previous) await previous.model.then((m) => m.session.release(), () => undefined);
  }
}
