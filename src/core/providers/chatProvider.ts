/**
 * The one interface behind every judge and the trait generator: an OpenAI-compatible HTTP server, the VS Code
 * Language Model API, or a local model. Never imports `vscode`.
 */

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface ChatRequest {
  messages: ChatMessage[];
  maxTokens?: number;
  temperature?: number;
  /** Ask for this many alternatives per generated token (ignored by providers without logprobs). */
  topLogprobs?: number;
}

export interface TokenLogprob {
  token: string;
  logprob: number;
}

export interface ChatResponse {
  text: string;
  /** Per generated token: the top alternatives. Absent when the provider or server gave none. */
  topLogprobs?: TokenLogprob[][];
}

export interface ChatProvider {
  /** Stable id, e.g. "openai:gpt-4.1-mini"; judges built on the provider use it as their id. */
  readonly id: string;
  /** What else decides its answers beyond the id (e.g. the endpoint URL); judges put it in their cache keys. */
  readonly configuration?: string;
  readonly supportsLogprobs: boolean;
  complete(request: ChatRequest, signal?: AbortSignal): Promise<ChatResponse>;
}

export type ProviderErrorKind = 'unreachable' | 'auth' | 'rateLimited' | 'badResponse' | 'timeout' | 'cancelled';

/** A failed provider call; the message says what happened and what the user can do about it. */
export class ProviderError extends Error {
  constructor(
    readonly kind: ProviderErrorKind,
    message: string,
    /** HTTP status, when the server answered. */
    readonly status?: number,
  ) {
    super(message);
    this.name = 'ProviderError';
  }
}
