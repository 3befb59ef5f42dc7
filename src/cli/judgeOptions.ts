/**
 * The CLI's judge options, turned into the one JudgeSpec the judge factory builds (src/core/judges/judgeFactory.ts).
 * The API key of an OpenAI-compatible judge comes from PERSONA_LENS_JUDGE_API_KEY (or OPENAI_API_KEY over https or to
 * a server on this machine: openAiEnvironmentKey), never from a flag: a flag would end up in shell history and process
 * lists.
 */
import { intOption, stringOption, UsageError, type OptionSpec, type ParsedArgs } from './args';
import type { JudgeSpec } from '../core/judges/judgeFactory';
import { requireInputFile } from '../core/io/userFiles';
import { openAiEnvironmentKey } from '../core/providers/openaiProvider';

export const JUDGE_OPTIONS: OptionSpec[] = [
  { name: 'judge', kind: 'string', description: 'lexicon (the model folder\'s judge.json: the organism), lexicon-file:PATH, openai (an OpenAI-compatible endpoint: --judge-url, --judge-model), or self (the model judges itself: weak)' },
  { name: 'judge-url', kind: 'string', description: 'with --judge openai: the endpoint\'s base URL, e.g. http://localhost:11434/v1 (key from PERSONA_LENS_JUDGE_API_KEY, else OPENAI_API_KEY over https or to this machine)' },
  { name: 'judge-model', kind: 'string', description: 'with --judge openai: the judge model\'s name, e.g. gpt-4.1-mini' },
  { name: 'judge-concurrency', kind: 'string', description: 'with --judge openai: requests in flight at once (default 4)' },
];

export const JUDGE_IDS = 'lexicon, lexicon-file:PATH, openai, self';

/** Refuses the endpoint options unless the judge is `openai`: given with another judge they would be ignored. */
export function checkEndpointOptions(args: ParsedArgs, judgeId: string | undefined): void {
  if (judgeId === 'openai') return;
  if (['judge-url', 'judge-model', 'judge-concurrency'].some((name) => args.options[name] !== undefined)) {
    throw new UsageError('--judge-url, --judge-model and --judge-concurrency go with --judge openai');
  }
}

/** `fallback` is used without --judge (the trait's "judge" field, or the command's default). */
export function judgeSpecFromArgs(args: ParsedArgs, fallback: string, env: NodeJS.ProcessEnv = process.env): JudgeSpec {
  const id = stringOption(args, 'judge') ?? fallback;
  const url = stringOption(args, 'judge-url');
  const model = stringOption(args, 'judge-model');
  checkEndpointOptions(args, id);
  if (id === 'openai') {
    if (!url || !model) throw new UsageError('--judge openai needs --judge-url URL and --judge-model NAME');
    if (!/^https?:\/\/[^\s]+$/.test(url)) throw new UsageError(`--judge-url must be an http(s) URL (got ${url})`);
    const concurrency = args.options['judge-concurrency'] !== undefined ? intOption(args, 'judge-concurrency', 4, { min: 1, max: 64 }) : undefined;
    return { kind: 'openai', baseUrl: url, model, apiKey: env.PERSONA_LENS_JUDGE_API_KEY || openAiEnvironmentKey(url, env), concurrency };
  }
  if (id === 'self') return { kind: 'self' };
  if (id === 'lexicon' || id.startsWith('lexicon:')) return { kind: 'lexicon' };
  if (id.startsWith('lexicon-file:')) {
    const file = id.slice('lexicon-file:'.length);
    requireInputFile(file, '--judge lexicon-file');
    return { kind: 'lexicon', file };
  }
  throw new UsageError(`unknown judge "${id}"; judges: ${JUDGE_IDS}`);
}
