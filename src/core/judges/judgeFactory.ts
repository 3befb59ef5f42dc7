/**
 * The one judge factory, used by the engine (for the extension's jobs) and the CLI: a judge spec — the lexicon judge
 * a model folder ships (the organism), lexicon data at a path, an OpenAI-compatible endpoint, the model judging
 * itself (weak), or a judge the extension host runs (VS Code LM, through a callback) — becomes a Judge.
 */
import type { LoadedModel } from '../model/loadedModel';
import type { ChatRequest, ChatResponse } from '../providers/chatProvider';
import { OpenAIProvider } from '../providers/openaiProvider';
import { LocalModelProvider } from '../providers/localModelProvider';
import { ConcurrencyLimiter } from '../providers/concurrencyLimiter';
import type { Judge } from './judge';
import { ProviderJudge } from './providerJudge';
import { resolveLocalJudge } from './resolveJudge';

export type JudgeSpec =
  | { kind: 'lexicon'; /** lexicon data at this path instead of the model folder's judge.json */ file?: string }
  | { kind: 'openai'; baseUrl: string; model: string; apiKey?: string; concurrency?: number }
  | { kind: 'host'; id: string }
  | { kind: 'self' };

export interface JudgeDeps {
  /** The model folder (for its judge.json). */
  modelPath: string;
  /** The loaded model, for the self-judge. */
  model?: LoadedModel;
  /** Answers a chat request in the extension host (host judges only). */
  hostComplete?: (provider: string, request: ChatRequest) => Promise<ChatResponse>;
}

/** Requests a host judge has in flight at once (the VS Code LM API is shared with the user's other work). */
const HOST_CONCURRENCY = 4;

export function createJudge(spec: JudgeSpec, deps: JudgeDeps): Judge {
  switch (spec.kind) {
    case 'lexicon':
      return resolveLocalJudge(spec.file ? `lexicon-file:${spec.file}` : 'lexicon', deps.modelPath);
    case 'openai':
      return new ProviderJudge(new OpenAIProvider({ baseUrl: spec.baseUrl, model: spec.model, apiKey: spec.apiKey, concurrency: spec.concurrency }));
    case 'self':
      if (!deps.model) throw new TypeError('the self-judge needs the loaded model');
      return new ProviderJudge(new LocalModelProvider(deps.model), { weak: true });
    case 'host': {
      const complete = deps.hostComplete;
      if (!complete) throw new TypeError(`the "${spec.id}" judge runs in VS Code's extension host; the CLI cannot use it (choose --judge openai, self or lexicon)`);
      const limiter = new ConcurrencyLimiter(HOST_CONCURRENCY);
      return new ProviderJudge({ id: spec.id, supportsLogprobs: false, complete: (request) => limiter.run(() => complete(spec.id, request)) });
    }
    default:
      throw new TypeError(`unknown judge kind ${(spec as { kind?: string }).kind}`);
  }
}

/** Whether a judge can be built before the model is loaded (all but the self-judge). */
export const judgeNeedsModel = (spec: JudgeSpec) => spec.kind === 'self';
