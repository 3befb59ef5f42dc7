import { intOption, numberOption } from '../args';
import { cliContext, type CliCommand } from '../command';
import { MODEL_OPTIONS, STEER_OPTIONS, loadOptions, steerRequest } from '../modelOptions';
import { loadModel } from '../../core/model/loadedModel';
import { generateText } from '../../core/model/inference';

export const generateCommand: CliCommand = {
  name: 'generate',
  summary: 'Generate a reply, optionally steered by a persona vector',
  usage: 'persona-lens generate --model MODEL --prompt STRING [--system S] [--steer VEC --layer L --coef A] [--max-tokens N] [--seed N]',
  options: [
    ...MODEL_OPTIONS,
    { name: 'prompt', kind: 'string', description: 'the user message', required: true },
    { name: 'system', kind: 'string', description: 'system prompt' },
    { name: 'max-tokens', kind: 'string', description: 'token limit (default 64)' },
    { name: 'temperature', kind: 'string', description: '0 = greedy (default); > 0 samples' },
    { name: 'top-p', kind: 'string', description: 'nucleus mass for sampling (default 1)' },
    { name: 'seed', kind: 'string', description: 'sampling seed (default 0)' },
    { name: 'stop', kind: 'string', description: 'stop string' },
    { name: 'raw', kind: 'flag', description: 'do not use the chat template' },
    ...STEER_OPTIONS,
  ],
  async run(args, io) {
    const request = {
      prompt: String(args.options.prompt),
      system: args.options.system as string | undefined,
      chat: args.options.raw ? false : undefined,
      maxTokens: intOption(args, 'max-tokens', 64, { min: 1, max: 1 << 20 }),
      sampling: { temperature: numberOption(args, 'temperature', 0, { min: 0 }), topP: numberOption(args, 'top-p', 1, { above: 0, max: 1 }), seed: intOption(args, 'seed', 0) },
      stopStrings: args.options.stop !== undefined ? [String(args.options.stop)] : undefined,
      steer: steerRequest(args),
    };
    const model = await loadModel(String(args.options.model), loadOptions(args, io));
    try {
      const result = await generateText(model, request, cliContext(io));
      io.out(result.text);
      io.err(`[${result.tokens.length} tokens, finished by ${result.finishReason}]`);
      return 0;
    } finally {
      await model.session.release();
    }
  },
};
