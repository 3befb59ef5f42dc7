import type { TraitDefinition } from '../traits/trait';

/** Scores of one response; null when the judge declined (refusal, unparsable output). */
export interface JudgeScore {
  /** Trait expression, 0–100. */
  trait: number | null;
  /** Coherence, 0–100 (fluency, no repetition loops, on topic). */
  coherence: number | null;
}

export interface JudgeRequest {
  trait: TraitDefinition;
  question: string;
  answer: string;
}

/** One interface for every judge: HTTP, VS Code LM, lexicon, local self-judge. */
export interface Judge {
  /** Stable id, e.g. "lexicon:organism", "openai:gpt-4.1-mini". */
  readonly id: string;
  /** True for judges the UI must label as weak (the local self-judge). */
  readonly weak: boolean;
  /** What else decides its scores beyond the id (endpoint, lexicon data digest); part of every cache key. */
  readonly configuration?: string;
  score(request: JudgeRequest, signal?: AbortSignal): Promise<JudgeScore>;
}

/**
 * Judge requests an extraction step starts at once (the rollouts, a round of steering cells); an HTTP judge bounds
 * its own requests in flight below this.
 */
export const JUDGE_CHUNK = 64;

/** The identity under which a judge's scores are cached: its id plus its configuration, if any. */
export function judgeCacheId(judge: Pick<Judge, 'id' | 'configuration'>): string {
  return judge.configuration ? `${judge.id}@${judge.configuration}` : judge.id;
}
