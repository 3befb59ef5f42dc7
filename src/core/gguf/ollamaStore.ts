/**
 * Finds the GGUF file of a model in the local Ollama store, read-only. Ollama keeps models as OCI-style manifests
 * and content-addressed blobs (ollama `server/images.go`, `types/model/name.go`):
 *   $OLLAMA_MODELS (default ~/.ollama/models)/manifests/<host>/<namespace>/<model>/<tag>  — JSON manifest
 *   …/blobs/sha256-<hex>                                                                 — the layers' bytes
 * The layer of media type `application/vnd.ollama.image.model` is the GGUF file. A short name `qwen2.5:7b` means
 * host registry.ollama.ai, namespace library; the tag defaults to `latest`.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const OLLAMA_PREFIX = 'ollama:';
const DEFAULT_HOST = 'registry.ollama.ai';
const DEFAULT_NAMESPACE = 'library';
const DEFAULT_TAG = 'latest';
const MODEL_MEDIA_TYPE = 'application/vnd.ollama.image.model';
/** Name parts as Ollama allows them (no path separators, no `..`). */
const PART = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export class OllamaError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OllamaError';
  }
}

export interface OllamaModel {
  /** As the user would type it: `name:tag` for library models, `namespace/name:tag` or `host/namespace/name:tag` otherwise. */
  name: string;
  manifest: string;
  /** The GGUF blob. */
  file: string;
  size: number;
}

export function ollamaModelsRoot(env: NodeJS.ProcessEnv = process.env): string {
  return env.OLLAMA_MODELS || path.join(os.homedir(), '.ollama', 'models');
}

export const isOllamaRef = (ref: string) => ref.startsWith(OLLAMA_PREFIX);

/** `ollama:NAME[:TAG]` → host, namespace, model, tag; refuses anything that could leave the store. */
function parseRef(ref: string): { host: string; namespace: string; model: string; tag: string } {
  const body = ref.slice(OLLAMA_PREFIX.length);
  const colon = body.lastIndexOf(':');
  const hasTag = colon > body.lastIndexOf('/');
  const name = hasTag ? body.slice(0, colon) : body;
  const tag = hasTag ? body.slice(colon + 1) : DEFAULT_TAG;
  const parts = name.split('/');
  const [host, namespace, model] = parts.length === 1 ? [DEFAULT_HOST, DEFAULT_NAMESPACE, parts[0]] : parts.length === 2 ? [DEFAULT_HOST, parts[0], parts[1]] : parts.length === 3 ? parts : [];
  if (!host || ![host, namespace, model, tag].every((p) => PART.test(p) && !p.includes('..'))) {
    throw new OllamaError(`"${ref}" is not an Ollama model name; write ollama:NAME or ollama:NAME:TAG (e.g. ollama:qwen2.5:7b)`);
  }
  return { host, namespace, model, tag };
}

function displayName(host: string, namespace: string, model: string, tag: string): string {
  if (host === DEFAULT_HOST && namespace === DEFAULT_NAMESPACE) return `${model}:${tag}`;
  return host === DEFAULT_HOST ? `${namespace}/${model}:${tag}` : `${host}/${namespace}/${model}:${tag}`;
}

/** Resolves `ollama:NAME[:TAG]` to its GGUF blob; a missing model gets a message listing the local ones. */
export function resolveOllamaModel(ref: string, root = ollamaModelsRoot()): OllamaModel {
  const { host, namespace, model, tag } = parseRef(ref);
  const manifest = path.join(root, 'manifests', host, namespace, model, tag);
  if (!existsSync(manifest)) {
    const name = displayName(host, namespace, model, tag);
    if (!existsSync(root)) throw new OllamaError(`Ollama model ${name}: there is no Ollama store at ${root} (set OLLAMA_MODELS if it lives elsewhere). Pull it with: ollama pull ${name}`);
    const local = listOllamaModels(root).map((m) => m.name);
    throw new OllamaError(`Ollama model ${name} is not in ${root}. ${local.length ? `Local models: ${local.join(', ')}.` : 'No models are pulled.'} Pull it with: ollama pull ${name}`);
  }
  return readManifest(root, manifest, displayName(host, namespace, model, tag));
}

function readManifest(root: string, manifest: string, name: string): OllamaModel {
  let parsed: { layers?: { mediaType?: unknown; digest?: unknown; size?: unknown }[] };
  try {
    parsed = JSON.parse(readFileSync(manifest, 'utf8'));
  } catch (err) {
    throw new OllamaError(`${manifest}: the Ollama manifest of ${name} is not valid JSON (${(err as Error).message})`);
  }
  const layer = Array.isArray(parsed.layers) ? parsed.layers.find((l) => l?.mediaType === MODEL_MEDIA_TYPE) : undefined;
  if (!layer) throw new OllamaError(`${manifest}: the Ollama manifest of ${name} has no model layer (${MODEL_MEDIA_TYPE})`);
  const digest = typeof layer.digest === 'string' ? /^sha256:([0-9a-f]{64})$/.exec(layer.digest) : null;
  if (!digest) throw new OllamaError(`${manifest}: the model layer's digest ${JSON.stringify(layer.digest)} is not sha256:<64 hex digits>`);
  const file = path.join(root, 'blobs', `sha256-${digest[1]}`);
  if (!existsSync(file)) throw new OllamaError(`${name}: its model blob ${file} is missing (interrupted pull?); run: ollama pull ${name}`);
  const size = statSync(file).size;
  if (typeof layer.size === 'number' && layer.size !== size) throw new OllamaError(`${name}: its model blob ${file} has ${size} bytes, but the manifest says ${layer.size} (interrupted pull?); run: ollama pull ${name}`);
  return { name, manifest, file, size };
}

/** Every model with a readable manifest and blob in the store, by name. Broken entries are skipped. */
export function listOllamaModels(root = ollamaModelsRoot()): OllamaModel[] {
  const base = path.join(root, 'manifests');
  const found: OllamaModel[] = [];
  const dirs = (dir: string) => {
    try {
      return readdirSync(dir, { withFileTypes: true });
    } catch {
      return [];
    }
  };
  for (const host of dirs(base).filter((e) => e.isDirectory()))
    for (const namespace of dirs(path.join(base, host.name)).filter((e) => e.isDirectory()))
      for (const model of dirs(path.join(base, host.name, namespace.name)).filter((e) => e.isDirectory()))
        for (const tag of dirs(path.join(base, host.name, namespace.name, model.name)).filter((e) => e.isFile())) {
          try {
            found.push(readManifest(root, path.join(base, host.name, namespace.name, model.name, tag.name), displayName(host.name, namespace.name, model.name, tag.name)));
          } catch {
            // A manifest without a model layer (e.g. an embedding-only or broken pull) is not offered.
          }
        }
  return found.sort((a, b) => a.name.localeCompare(b.name));
}
