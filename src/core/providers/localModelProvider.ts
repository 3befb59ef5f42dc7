/**
 * The loaded model as a ChatProvider, so it can judge itself offline (the "local self-judge"). Top logprobs of
 * the first generated token come from its own logits, so ProviderJudge scores it like any logprob judge.
 * Small models judge poorly: the UI labels this judge as weak.
 */
import type { ChatProvider, ChatRequest, ChatResponse } from './chatProvider';
import type { LoadedModel } from '../model/loadedModel';
import { generate } from '../model/generate';
import { ConcurrencyLimiter } from './concurrencyLimiter';

export class LocalModelProvider implements ChatProvider {
  readonly id = 'self';
  readonly supportsLogprobs = true;

  /** Judging overlaps many requests; two at a time keeps the model's KV caches bounded. */
  private readonly limiter = new ConcurrencyLimiter(2);

  constructor(private readonly model: LoadedModel) {}

  complete(request: ChatRequest): Promise<ChatResponse> {
    return this.limiter.run(() => this.answer(request));
  }

  private async answer(request: ChatRequest): Promise<ChatResponse> {
    const { tokenizer, session } = this.model;
    const prompt = tokenizer.chat(request.messages, true);
    const first = await session.forward({ tokens: [prompt], logits: 'last' });
    const logits = first.logits!;
    let max = -Infinity;
    for (const x of logits) max = Math.max(max, x);
    let sum = 0;
    for (const x of logits) sum += Math.exp(x - max);
    const k = request.topLogprobs ?? 0;
    const top = k > 0 ? [...logits.keys()].sort((a, b) => logits[b] - logits[a]).slice(0, k).map((id) => ({ token: tokenizer.decode([id]), logprob: logits[id] - max - Math.log(sum) })) : undefined;
    const result = await generate(session, tokenizer, { prompts: [prompt], maxTokens: request.maxTokens ?? 16, eosTokenIds: this.model.eosTokenIds });
    return { text: result.texts[0], topLogprobs: top ? [top] : undefined };
  }
}
