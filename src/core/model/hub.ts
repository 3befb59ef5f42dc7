/**
 * Downloads a checkpoint from the Hugging Face hub into a local folder (the extension's global storage), when the
 * machine is online. Only the files the engine reads are fetched — safetensors, never pickle — each streamed to
 * a .part file and renamed when complete, so an interrupted download never leaves a file that looks whole.
 */
import { createWriteStream, existsSync, mkdirSync, renameSync, rmSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export interface HubDownloadOptions {
  /** Default https://huggingface.co, or $HF_ENDPOINT like the Python hub client. */
  endpoint?: string;
  revision?: string;
  token?: string;
  signal?: AbortSignal;
  onProgress?: (file: string, doneFiles: number, totalFiles: number) => void;
  fetchImpl?: typeof fetch;
}

const REPO_ID = /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/;

export function hubFolderName(repoId: string): string {
  return repoId.replace('/', '--');
}

export async function downloadFromHub(repoId: string, destRoot: string, options: HubDownloadOptions = {}): Promise<string> {
  if (!REPO_ID.test(repoId) || repoId.includes('..')) throw new Error(`"${repoId}" is not a hub model id (expected owner/name, e.g. Qwen/Qwen2.5-0.5B-Instruct)`);
  const endpoint = (options.endpoint ?? process.env.HF_ENDPOINT ?? 'https://huggingface.co').replace(/\/$/, '');
  const revision = encodeURIComponent(options.revision ?? 'main');
  const fetchImpl = options.fetchImpl ?? fetch;
  const dest = path.join(destRoot, hubFolderName(repoId));
  mkdirSync(dest, { recursive: true });
  const url = (file: string) => `${endpoint}/${repoId}/resolve/${revision}/${file}`;

  const get = async (file: string, required: boolean): Promise<boolean> => {
    const target = path.join(dest, file);
    if (existsSync(target)) return true;
    let response: Response;
    try {
      response = await fetchImpl(url(file), { headers: options.token ? { Authorization: `Bearer ${options.token}` } : {}, signal: options.signal, redirect: 'follow' });
    } catch (err) {
      throw new Error(`Could not reach ${endpoint} to download ${repoId} (${(err as Error).message}). Check the network, or download the folder elsewhere and choose it with "Select Model…".`);
    }
    if (response.status === 404 && !required) return false;
    if (response.status === 404) throw new Error(`${repoId}: ${file} is not on the hub (Persona Lens needs config.json, tokenizer.json and safetensors weights)`);
    if (response.status === 401 || response.status === 403) throw new Error(`${repoId}: the hub refused access (${response.status}); the model may be gated: set HF_TOKEN with a token that has access.`);
    if (!response.ok || !response.body) throw new Error(`${repoId}: downloading ${file} failed with HTTP ${response.status}`);
    const part = `${target}.part`;
    try {
      await pipeline(Readable.fromWeb(response.body as import('node:stream/web').ReadableStream), createWriteStream(part));
    } catch (err) {
      rmSync(part, { force: true });
      throw err;
    }
    renameSync(part, target);
    return true;
  };

  const plan: [string, boolean][] = [
    ['config.json', true],
    ['generation_config.json', false],
    ['tokenizer.json', true],
    ['tokenizer_config.json', true],
  ];
  let done = 0;
  for (const [file, required] of plan) {
    await get(file, required);
    options.onProgress?.(file, ++done, plan.length + 1);
  }
  let shards = ['model.safetensors'];
  if (await get('model.safetensors.index.json', false)) {
    const index = JSON.parse(readFileSync(path.join(dest, 'model.safetensors.index.json'), 'utf8'));
    shards = [...new Set(Object.values<string>(index.weight_map ?? {}))].filter((s) => /^[\w.-]+\.safetensors$/.test(s));
  }
  for (const shard of shards) {
    if (!(await get(shard, true))) throw new Error(`${repoId} has no ${shard}`);
    options.onProgress?.(shard, ++done, plan.length + shards.length);
  }
  return dest;
}
