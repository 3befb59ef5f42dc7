/**
 * A persona trait in the project's trait format (see `schemas/trait.schema.json`).
 * The artifacts are what the paper's generator LLM writes from a trait name and description.
 */
export interface InstructionPair {
  /** System prompt that elicits the trait. */
  pos: string;
  /** System prompt that suppresses the trait (the anti-trait). */
  neg: string;
}

export interface TraitDefinition {
  /** Short identifier, lower-case, e.g. "evil". */
  name: string;
  /** What the trait is, in one or two sentences; the judge rubric refers to it. */
  description: string;
  /** Five or more contrastive system-prompt pairs. */
  instructions: InstructionPair[];
  /** Questions used for extraction rollouts. */
  extractionQuestions: string[];
  /** Questions used for evaluation and the steering sweep; disjoint from extractionQuestions. */
  evaluationQuestions: string[];
  /** Judge rubric: how to score trait expression 0–100. May contain {question} and {answer}. */
  rubric: string;
  /** Optional judge id that should score this trait by default (e.g. "lexicon:organism"). */
  judge?: string;
}
