/**
 * How steered answers are produced when steering is evaluated (layer search, validation). Pure: the panel shows
 * the same description the CLI prints.
 */
import type { SamplingOptions } from '../model/sampling';

/** `samplesPerQuestion` answers per question, sampled at `temperature` (0 = greedy, one answer). */
export interface SteeringEvaluation {
  samplesPerQuestion: number;
  temperature: number;
  seed?: number;
}

/** The paper samples steered answers at temperature 1; three per question keeps the cost of a CPU sweep modest. */
export const DEFAULT_STEERING_EVALUATION: SteeringEvaluation = { samplesPerQuestion: 3, temperature: 1 };

/** The questions and sampling options that realise an evaluation (each question repeated; one seed per answer). */
export function evaluationPlan(questions: string[], evaluation: SteeringEvaluation): { questions: string[]; sampling?: SamplingOptions } {
  if (evaluation.temperature <= 0) return { questions };
  const sampling: SamplingOptions = { temperature: evaluation.temperature, seed: evaluation.seed ?? 11 };
  return { questions: questions.flatMap((q) => Array<string>(evaluation.samplesPerQuestion).fill(q)), sampling };
}

/** E.g. "3 sampled answers per question at temperature 1"; older files without it were greedy. */
export function describeEvaluation(evaluation: SteeringEvaluation | undefined): string {
  if (!evaluation || evaluation.temperature <= 0) return 'greedy answers, one per question';
  return `${evaluation.samplesPerQuestion} sampled answer${evaluation.samplesPerQuestion === 1 ? '' : 's'} per question at temperature ${evaluation.temperature}`;
}
