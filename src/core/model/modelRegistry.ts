/**
 * Keeps at most one model loaded (models are large): asking for another path releases the current one.
 * Used by the engine process; the CLI loads directly.
 */
import { loadModel, type LoadedModel, type LoadOptions } from './loadedModel';
import { estimateMemory, openCheckpoint } from './checkpoint';
import type { Architecture } from './config';

export interface ModelSummary {
  path: string;
  architecture: Architecture;
  layers: number;
  hiddenSize: number;
  vocabSize: number;
  parameters: number;
  requiredBytes: number;
  availableBytes: number;
  fingerprint: string;
}

export function inspectModel(dir: string): ModelSummary {
  const ckpt = openCheckpoint(dir);
  const memory = estimateMemory(ckpt.spec);
  return {
    path: dir,
    architecture: ckpt.spec.architecture,
    layers: ckpt.spec.numLayers,
    hiddenSize: ckpt.spec.hiddenSize,
    vocabSize: ckpt.spec.vocabSize,
    parameters: memory.parameters,
    requiredBytes: memory.requiredBytes,
    availableBytes: memory.availableBytes,
    fingerprint: ckpt.fingerprint,
  };
}

export class ModelRegistry {
  private current: { key: string; model: Promise<LoadedModel> } | undefined;

  async get(dir: string, options: LoadOptions = {}): Promise<LoadedModel> {
    const key = `${dir}\0${options.cacheRoot ?? ''}\0${options.adapter ?? ''}`;
    if (this.current?.key !== key) {
      await this.release();
      const model = loadModel(dir, options);
      this.current = { key, model };
      model.catch(() => {
        if (this.current?.model === model) this.current = undefined;
      });
    }
    return this.current.model;
  }

  async release(): Promise<void> {
    const previous = this.current;
    this.current = undefined;
    if (previous) await previous.model.then((m) => m.session.release(), () => undefined);
  }
}
