/**
 * ChatProvider for any OpenAI-compatible `/v1/chat/completions` server: Ollama, LM Studio, llama.cpp server, vLLM,
 * OpenAI. Retries with backoff, honours rate limits, bounds concurrency and time, and turns every failure into a
 * ProviderError that tells the user what to do. The API key comes from the caller (environment or VS Code
 * SecretStorage; `OPENAI_API_KEY` over https or to a local server, `openAiEnvironmentKey`); nothing here reads settings.
 */
import { ConcurrencyLimiter } from './concurrencyLimiter';
import { ProviderError, type ChatProvider, type ChatRequest, type ChatResponse, type TokenLogprob } from './chatProvider';

/**
 * `OPENAI_API_KEY` from the environment for the endpoint the user named, as the OpenAI SDKs send it to their base URL
 * (what users of OpenAI-compatible servers set): over https, or over plain http to this machine (a local server).
 * Never in clear text across a network: a plain-http endpoint on another host gets no key from the environment.
 */
export function openAiEnvironmentKey(baseUrl: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    return undefined;
  }
  const loopback = url.hostname === 'localhost' || /^127(\.\d{1,3}){3}$/.test(url.hostname) || url.hostname === '[::1]';
  return url.protocol === 'https:' || (url.protocol === 'http:' && loopback) ? env.OPENAI_API_KEY || undefined : undefined;
}

export interface OpenAIProviderOptions {
  /** Server root or its /v1, e.g. http://localhost:11434/v1 (Ollama), http://localhost:1234/v1 (LM Studio). */
  baseUrl: string;
  model: string;
  apiKey?: string;
  /** Per attempt, including reading the reply. Default 60000. */
  timeoutMs?: number;
  /** Retries after network errors, 5xx and 429. Default 3. */
  maxRetries?: number;
  /** Requests in flight at once across all calls of this provider. Default 4. */
  concurrency?: number;
  /** False for servers that reject or ignore `logprobs`; judges then parse the text. Default true. */
  supportsLogprobs?: boolean;
  /** First backoff delay; doubles each retry, with jitter. Default 500. */
  retryBaseDelayMs?: number;
  /** Cap on any wait between retries, the server's Retry-After included. Default 30000. */
  maxRetryDelayMs?: number;
  /** What the server is to the user, for messages ("judge", "generator"). Default "judge". */
  role?: string;
  fetchImpl?: typeof fetch;
}

/** A failure worth another attempt, with the wait the server asked for, if any. */
class RetryableFailure {
  constructor(
    readonly error: ProviderError,
    readonly retryAfterMs?: number,
  ) {}
}

export class OpenAIProvider implements ChatProvider {
  readonly id: string;
  readonly configuration: string;
  readonly supportsLogprobs: boolean;
  /** The full chat-completions URL; messages name it so the user sees exactly what was called. */
  readonly url: string;
  private readonly limiter: ConcurrencyLimiter;
  private readonly fetchImpl: typeof fetch;
  private readonly timeoutMs: number;
  private readonly maxRetries: number;
  private readonly retryBaseDelayMs: number;
  private readonly maxRetryDelayMs: number;
  private readonly who: string;

  constructor(private readonly options: OpenAIProviderOptions) {
    this.url = chatCompletionsUrl(options.baseUrl);
    this.id = `openai:${options.model}`;
    this.configuration = this.url;
    this.supportsLogprobs = options.supportsLogprobs ?? true;
    this.limiter = new ConcurrencyLimiter(options.concurrency ?? 4);
    this.fetchImpl = options.fetchImpl ?? fetch;
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.maxRetries = options.maxRetries ?? 3;
    this.retryBaseDelayMs = options.retryBaseDelayMs ?? 500;
    this.maxRetryDelayMs = options.maxRetryDelayMs ?? 30_000;
    this.who = `the ${options.role ?? 'judge'} at ${this.url}`;
  }

  complete(request: ChatRequest, signal?: AbortSignal): Promise<ChatResponse> {
    // The slot is held through the retries too, so a rate-limited server is not hit by the queue meanwhile.
    return this.limiter.run(() => this.completeWithRetries(request, signal), signal);
  }

  private async completeWithRetries(request: ChatRequest, signal?: AbortSignal): Promise<ChatResponse> {
    const body = JSON.stringify(this.requestBody(request));
    for (let retry = 0; ; retry++) {
      try {
        return await this.attempt(body, signal);
      } catch (err) {
        if (!(err instanceof RetryableFailure)) throw err;
        if (retry >= this.maxRetries) throw new ProviderError(err.error.kind, `${err.error.message} (tried ${retry + 1} times)`, err.error.status);
        const backoff = Math.min(this.maxRetryDelayMs, this.retryBaseDelayMs * 2 ** retry) * (0.5 + Math.random() / 2);
        await sleep(Math.min(this.maxRetryDelayMs, err.retryAfterMs ?? backoff), signal);
      }
    }
  }

  private requestBody(request: ChatRequest): Record<string, unknown> {
    const wantLogprobs = this.supportsLogprobs && (request.topLogprobs ?? 0) > 0;
    return {
      model: this.options.model,
      messages: request.messages,
      stream: false,
      ...(request.maxTokens !== undefined && { max_tokens: request.maxTokens }),
      ...(request.temperature !== undefined && { temperature: request.temperature }),
      ...(wantLogprobs && { logprobs: true, top_logprobs: request.topLogprobs }),
    };
  }

  /** One HTTP call; throws ProviderError when final, RetryableFailure when another attempt may succeed. */
  private async attempt(body: string, signal?: AbortSignal): Promise<ChatResponse> {
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), this.timeoutMs);
    const headers: Record<string, string> = { 'Content-Type': 'application/json' };
    if (this.options.apiKey) headers.Authorization = `Bearer ${this.options.apiKey}`;
    let status: number;
    let retryAfter: string | null;
    let text: string;
    try {
      const response = await this.fetchImpl(this.url, { method: 'POST', headers, body, signal: signal ? AbortSignal.any([signal, timeout.signal]) : timeout.signal });
      status = response.status;
      retryAfter = response.headers.get('retry-after');
      text = await response.text();
    } catch (err) {
      if (signal?.aborted) throw new ProviderError('cancelled', 'Cancelled.');
      if (timeout.signal.aborted) {
        throw new ProviderError('timeout', `No answer from ${this.who} within ${this.timeoutMs / 1000} s: the server may be busy or still loading the model; raise the timeout or lower the concurrency.`);
      }
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new RetryableFailure(new ProviderError('unreachable', `Could not reach ${this.who} (${cause?.code ?? cause?.message ?? (err as Error).message}): is the server running?`));
    } finally {
      clearTimeout(timer);
    }
    if (status >= 200 && status < 300) return this.parseReply(text);
    const message = serverMessage(text);
    const detail = `HTTP ${status}${message ? `: ${message}` : ''}`;
    if (status === 401 || status === 403) {
      const heldBack = !this.options.apiKey && process.env.OPENAI_API_KEY && !openAiEnvironmentKey(this.options.baseUrl);
      const advice = this.options.apiKey
        ? 'check the API key'
        : heldBack
          ? 'no API key was sent: OPENAI_API_KEY is never sent over plain http to another host; use https, or set PERSONA_LENS_JUDGE_API_KEY (CLI) or Set Judge API Key… (VS Code) for this endpoint'
          : 'no API key was sent: set one';
      throw new ProviderError('auth', `${capitalize(this.who)} refused the request (${detail}): ${advice} (Persona Lens takes it from the environment or VS Code's secret storage).`, status);
    }
    if (status === 429) {
      const error = new ProviderError('rateLimited', `${capitalize(this.who)} is rate-limiting requests (${detail}): wait and try again, or lower the concurrency.`, status);
      throw new RetryableFailure(error, retryAfter === null ? undefined : parseRetryAfter(retryAfter));
    }
    if (status >= 500) throw new RetryableFailure(new ProviderError('badResponse', `${capitalize(this.who)} failed (${detail}): see the server's log.`, status));
    if (status === 404) {
      throw new ProviderError('badResponse', `${capitalize(this.who)} answered ${detail}: check the base URL (e.g. http://localhost:11434/v1 for Ollama) and that the server has the model "${this.options.model}".`, status);
    }
    throw new ProviderError('badResponse', `${capitalize(this.who)} rejected the request (${detail}): check the model name and the server's settings.`, status);
  }

  private parseReply(text: string): ChatResponse {
    const unexpected = (what: string) => new ProviderError('badResponse', `${capitalize(this.who)} sent an unexpected reply (${what}): is it an OpenAI-compatible chat completions endpoint?`);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw unexpected(`not JSON: "${text.slice(0, 80)}"`);
    }
    const choice = (json as { choices?: { message?: { content?: unknown }; logprobs?: { content?: unknown } }[] })?.choices?.[0];
    const content = choice?.message?.content;
    // null content is what some servers send for an empty answer.
    if (!choice || !(typeof content === 'string' || content === null)) throw unexpected('no choices[0].message.content');
    const tokens = choice.logprobs?.content;
    return { text: content ?? '', ...(Array.isArray(tokens) && { topLogprobs: tokens.map(topAlternatives) }) };
  }
}

/** Accepts the server root, its /v1 or the full endpoint. */
export function chatCompletionsUrl(baseUrl: string): string {
  const base = baseUrl.trim().replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]/i.test(base)) throw new Error(`The server URL must start with http:// or https:// (got "${baseUrl}")`);
  if (/\/chat\/completions$/.test(base)) return base;
  return /\/v\d+$/.test(base) ? `${base}/chat/completions` : `${base}/v1/chat/completions`;
}

/** Retry-After as milliseconds from now: delta-seconds or an HTTP date; undefined when unparsable. */
export function parseRetryAfter(value: string, nowMs = Date.now()): number | undefined {
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

function topAlternatives(token: unknown): TokenLogprob[] {
  const alternatives = (token as { top_logprobs?: unknown })?.top_logprobs;
  if (!Array.isArray(alternatives)) return [];
  return alternatives.filter((a): a is TokenLogprob => typeof a?.token === 'string' && typeof a?.logprob === 'number').map(({ token, logprob }) => ({ token, logprob }));
}

/** The error text servers put in a failed reply ({"error":{"message"}} for OpenAI, {"error":"…"} for Ollama). */
function serverMessage(body: string): string {
  let message: unknown = body;
  try {
    const json = JSON.parse(body);
    message = json?.error?.message ?? json?.error ?? json?.message ?? body;
  } catch {
    // Not JSON: the raw body is the message.
  }
  return (typeof message === 'string' ? message : JSON.stringify(message)).trim().slice(0, 200);
}

function capitalize(text: string): string {
  return text[0].toUpperCase() + text.slice(1);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const cancel = () => {
      clearTimeout(timer);
      reject(new ProviderError('cancelled', 'Cancelled.'));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', cancel);
      resolve();
    }, ms);
    if (signal?.aborted) cancel();
    else signal?.addEventListener('abort', cancel, { once: true });
  });
}
