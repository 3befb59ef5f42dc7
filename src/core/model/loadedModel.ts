/** A model ready to run: checkpoint + tokenizer + onnxruntime session. The one way to load a model. */
import { assertMemoryAvailable, openCheckpoint, type Checkpoint } from './checkpoint';
import { DecoderSession } from './decoderSession';
import { Tokenizer } from './tokenizer';
import { prepareModelFiles, defaultCacheRoot } from './weightStore';
import { openLoraAdapter } from './loraAdapter';
import { readFileSync, existsSync, rmSync } from 'node:fs';
import * as path from 'node:path';

export interface LoadedModel {
  checkpoint: Checkpoint;
  session: DecoderSession;
  tokenizer: Tokenizer;
  /** EOS ids from generation_config.json, config.json and the tokenizer's eos token. */
  eosTokenIds: number[];
}

export interface LoadOptions {
  cacheRoot?: string;
  threads?: number;
  /** A PEFT LoRA adapter folder, merged into the weights at load (the tokenizer comes from `dir`). */
  adapter?: string;
  /** Hears about cache entries discarded and rebuilt. */
  log?: (line: string) => void;
}

export async function loadModel(dir: string, options: LoadOptions = {}): Promise<LoadedModel> {
  const base = openCheckpoint(dir);
  assertMemoryAvailable(dir, base.spec);
  const adapter = options.adapter ? openLoraAdapter(options.adapter, new Map([...base.weights].map(([name, ref]) => [name, ref.info.shape]))) : undefined;
  // Base + adapter is another model: every cache keyed by the fingerprint (graph, rollouts, screening) must say so.
  const checkpoint = adapter ? { ...base, fingerprint: `${base.fingerprint}-lora-${adapter.fingerprint}` } : base;
  const tokenizer = await Tokenizer.load(dir);
  const cacheRoot = options.cacheRoot ?? defaultCacheRoot();
  let prepared = prepareModelFiles(checkpoint, cacheRoot, adapter);
  let session: DecoderSession;
  try {
    session = await DecoderSession.create(checkpoint.spec, prepared.onnxPath, { threads: options.threads });
  } catch (err) {
    if (!prepared.reused) throw err;
    // A cached graph or weight file that no longer loads (truncated, disk full, edited): rebuild it once.
    options.log?.(`cache: ${prepared.folder} does not load (${(err as Error).message.split('\n')[0]}); discarded and rebuilt`);
    rmSync(prepared.folder, { recursive: true, force: true });
    prepared = prepareModelFiles(checkpoint, cacheRoot, adapter);
    session = await DecoderSession.create(checkpoint.spec, prepared.onnxPath, { threads: options.threads });
  }
  return { checkpoint, session, tokenizer, eosTokenIds: eosIds(dir, checkpoint) };
}

function eosIds(dir: string, checkpoint: Checkpoint): number[] {
  const ids = new Set(checkpoint.spec.eosTokenIds);
  const genPath = path.join(dir, 'generation_config.json');
  if (existsSync(genPath)) {
    try {
      const gen = JSON.parse(readFileSync(genPath, 'utf8'));
      for (const id of [gen.eos_token_id].flat()) if (typeof id === 'number') ids.add(id);
    } catch {
      // A broken generation_config.json only loses its EOS ids; config.json's still apply.
    }
  }
  return [...ids];
}
