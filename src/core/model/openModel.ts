/**
 * The one way to open a model the user names: a Hugging Face checkpoint folder, a `.gguf` file, or
 * `ollama:NAME[:TAG]` from the local Ollama store. Nothing is written next to any of them.
 */
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { CheckpointError, openCheckpoint, type Checkpoint } from './checkpoint';
import { Tokenizer } from './tokenizer';
import { openGgufModel, type GgufCheckpoint } from '../gguf/ggufModel';
import { isOllamaRef, resolveOllamaModel } from '../gguf/ollamaStore';
import { tokenizerFilesFromGguf } from '../gguf/ggufTokenizer';

export async function openModel(modelPath: string): Promise<Checkpoint> {
  if (isOllamaRef(modelPath)) {
    const model = resolveOllamaModel(modelPath);
    return openGgufModel(model.file, `ollama:${model.name}`);
  }
  if (existsSync(modelPath) && statSync(modelPath).isFile()) {
    // Ollama blobs and renamed downloads have no .gguf extension: the magic decides.
    if (startsWithGgufMagic(modelPath)) return openGgufModel(modelPath);
    throw new CheckpointError(`${modelPath} is a file, but not a GGUF model. Choose a checkpoint folder (config.json + *.safetensors), a .gguf file, or ollama:NAME.`);
  }
  return openCheckpoint(modelPath);
}

function startsWithGgufMagic(file: string): boolean {
  const head = Buffer.alloc(4);
  const fd = openSync(file, 'r');
  try {
    return readSync(fd, head, 0, 4, 0) === 4 && head.toString('latin1') === 'GGUF';
  } finally {
    closeSync(fd);
  }
}

export const isGgufCheckpoint = (ckpt: Checkpoint): ckpt is GgufCheckpoint => ckpt.format === 'gguf';

/** The model's tokenizer: the folder's tokenizer files, or the one a GGUF file carries in its metadata. */
export async function loadTokenizer(ckpt: Checkpoint): Promise<Tokenizer> {
  if (isGgufCheckpoint(ckpt)) return Tokenizer.fromFiles(tokenizerFilesFromGguf(ckpt.header.metadata, ckpt.path), ckpt.path);
  return Tokenizer.load(ckpt.path);
}
