/**
 * llama.cpp itself as a peer for tests: node-llama-cpp's prebuilt libraries (installed into the bench folder by
 * the bench's installer, never into the project), the llama.cpp sources of the same release (node-llama-cpp ships
 * them as a git bundle) for the headers, and llamaCppGreedy.cpp (greedy decoding) or llamaCppTokenize.cpp (its
 * tokenizer) compiled against both with the system g++.
 * Returns why when any piece is missing, so the caller can skip with that reason.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { installNodeLlamaCpp } from '../bench/llamaCppPeer';

export interface LlamaCppGreedy {
  /** Greedy tokens after `prompt`, optionally with a control vector file scaled by `strength`. */
  run(model: string, prompt: number[], tokens: number, controlVector?: { file: string; strength: number }): number[];
}

export interface LlamaCppTokenizer {
  /** llama_tokenize of each text (parse_special on), without and with the vocabulary's added BOS/EOS. */
  tokenize(vocabFile: string, texts: readonly string[]): { plain: number[]; special: number[] }[];
}

/** g++ `source` (in this folder) against the llama.cpp headers and node-llama-cpp's libraries; the binary's path and the libraries' folder. */
function buildAgainstLlamaCpp(source: string, name: string): { binary: string; bins: string } | { unavailable: string } {
  const peer = installNodeLlamaCpp();
  if ('error' in peer) return { unavailable: peer.error };
  const bins = path.join(peer.dir, 'node_modules', '@node-llama-cpp', 'linux-x64', 'bins', 'linux-x64');
  const bundle = path.join(peer.dir, 'node_modules', 'node-llama-cpp', 'llama', 'gitRelease.bundle');
  if (!existsSync(bins) || !existsSync(bundle)) return { unavailable: `node-llama-cpp's linux-x64 libraries or source bundle are missing in ${peer.dir}` };
  const sources = path.join(peer.dir, 'llama.cpp');
  const binary = path.join(peer.dir, name);
  const lib = (prefix: string) => readdirSync(bins).find((f) => f.startsWith(prefix) && f.endsWith('.so'));
  try {
    if (!existsSync(path.join(sources, 'include', 'llama.h'))) execFileSync('git', ['clone', '--quiet', bundle, sources], { stdio: 'ignore', timeout: 300000 });
    const libs = [lib('libllama-common'), lib('libllama.'), lib('libggml.'), lib('libggml-base')];
    if (libs.some((l) => !l)) return { unavailable: `libraries missing in ${bins}` };
    execFileSync('g++', ['-std=c++17', '-O1', '-I', path.join(sources, 'include'), '-I', path.join(sources, 'common'), '-I', path.join(sources, 'ggml', 'include'), path.join(__dirname, source), '-o', binary, `-L${bins}`, ...libs.map((l) => `-l:${l}`), `-Wl,-rpath,${bins}`], { stdio: 'pipe', timeout: 300000 });
  } catch (err) {
    return { unavailable: `building the llama.cpp harness failed (git / g++): ${(err as Error).message.split('\n')[0]}` };
  }
  return { binary, bins };
}

export function buildLlamaCppGreedy(): LlamaCppGreedy | { unavailable: string } {
  const built = buildAgainstLlamaCpp('llamaCppGreedy.cpp', 'llama-cpp-greedy');
  if ('unavailable' in built) return built;
  const { binary, bins } = built;
  return {
    run(model, prompt, tokens, controlVector) {
      const out = execFileSync(binary, [bins, model, controlVector?.file ?? '-', String(controlVector?.strength ?? 1), String(tokens), prompt.join(',')], { encoding: 'utf8', timeout: 300000 });
      return JSON.parse(out.trim().split('\n').at(-1)!);
    },
  };
}

export function buildLlamaCppTokenizer(): LlamaCppTokenizer | { unavailable: string } {
  const built = buildAgainstLlamaCpp('llamaCppTokenize.cpp', 'llama-cpp-tokenize');
  if ('unavailable' in built) return built;
  const { binary, bins } = built;
  return {
    tokenize(vocabFile, texts) {
      const input = Buffer.concat(texts.flatMap((text) => {
        const bytes = Buffer.from(text, 'utf8');
        return [Buffer.from(`${bytes.length}\n`), bytes];
      }));
      const lines = execFileSync(binary, [bins, vocabFile], { input, encoding: 'utf8', timeout: 300000, maxBuffer: 64 << 20 }).trim().split('\n');
      if (lines.length !== 2 * texts.length) throw new Error(`llama-cpp-tokenize answered ${lines.length} lines for ${texts.length} texts`);
      return texts.map((_, i) => ({ plain: JSON.parse(lines[2 * i]) as number[], special: JSON.parse(lines[2 * i + 1]) as number[] }));
    },
  };
}
