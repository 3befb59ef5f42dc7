/**
 * The llama.cpp peer of the bench: the same random weights as a GGUF model (qwen2 architecture, Q8_0 or Q4_0 as
 * llama.cpp's reference quantizers make them, tokenizer metadata as its converter writes it), run by `node-llama-cpp` (prebuilt
 * llama.cpp from npm) with the same number of threads. node-llama-cpp is installed on demand into the bench
 * folder, never into the project. Bench code only: nothing here ships.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { writeGgufModel } from '../helpers/ggufModelFile';
import { benchRoot } from './benchCheckpoint';

export const NODE_LLAMA_CPP_VERSION = '3.22.1';

/** The bench's qwen2 checkpoint as a GGUF model file, written as llama.cpp's converter writes it (test/helpers). */
export function writeQwen2Gguf(checkpointDir: string, file: string, type: 'Q8_0' | 'Q4_0'): string {
  if (existsSync(file)) return file;
  mkdirSync(path.dirname(file), { recursive: true });
  return writeGgufModel(checkpointDir, file, { type });
}

/** Installs node-llama-cpp (CPU build only) into the bench folder once; returns its folder, or why it could not. */
export function installNodeLlamaCpp(): { dir: string } | { error: string } {
  const dir = path.join(benchRoot(), 'llama-cpp-peer');
  if (existsSync(path.join(dir, 'node_modules', 'node-llama-cpp', 'package.json'))) return { dir };
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'persona-lens-bench-peer', private: true }));
    // --omit=optional skips the CUDA / Vulkan builds; the CPU build is named explicitly.
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--omit=optional', `node-llama-cpp@${NODE_LLAMA_CPP_VERSION}`, `@node-llama-cpp/linux-x64@${NODE_LLAMA_CPP_VERSION}`], { cwd: dir, stdio: 'ignore', timeout: 600000 });
    return { dir };
  } catch (err) {
    return { error: `npm install node-llama-cpp failed: ${(err as Error).message.split('\n')[0]}` };
  }
}

export interface PeerFigures {
  prefillMs: number;
  decodeMs: number;
  threads: number;
}

/** Runs llamaCppRun.mjs in the peer folder: prefill of the same token ids, then greedy decode, as our bench does. */
export function runLlamaCpp(peerDir: string, modelFile: string, tokens: number[], threads: number): PeerFigures {
  const script = path.join(__dirname, 'llamaCppRun.mjs');
  const out = execFileSync(process.execPath, [script, peerDir, modelFile, JSON.stringify(tokens), String(threads)], { encoding: 'utf8', maxBuffer: 1 << 20, timeout: 900000 });
  return JSON.parse(out.trim().split('\n').at(-1)!);
}
