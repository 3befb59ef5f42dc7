/** Options shared by the commands that load a model and steer it. */
import { intOption, numberOption, UsageError, type OptionSpec, type ParsedArgs } from './args';
import type { SteerRequest } from '../core/model/inference';
import type { SteerPositions } from '../core/model/steering';

export const MODEL_OPTIONS: OptionSpec[] = [
  { name: 'model', kind: 'string', description: 'checkpoint folder (HF layout, safetensors)', required: true },
  { name: 'cache-dir', kind: 'string', description: 'where prepared graphs live (default ~/.cache/persona-lens)' },
  { name: 'threads', kind: 'string', description: 'onnxruntime threads (default: all cores)' },
];

export const STEER_OPTIONS: OptionSpec[] = [
  { name: 'steer', kind: 'string', description: 'steering vector .safetensors ([d] or [layers+1, d])' },
  { name: 'layer', kind: 'string', description: 'residual row L: add after block L (with --steer)' },
  { name: 'coef', kind: 'string', description: 'coefficient α (with --steer)' },
  { name: 'positions', kind: 'string', description: 'all | prompt | generated (default all)' },
  { name: 'ablate', kind: 'flag', description: 'project the direction out instead of adding it' },
];

export function steerRequest(args: ParsedArgs): SteerRequest | undefined {
  const path = args.options.steer;
  if (path === undefined) {
    if (args.options.layer !== undefined || args.options.coef !== undefined) throw new UsageError('--layer and --coef go with --steer');
    return undefined;
  }
  if (args.options.layer === undefined) throw new UsageError('--steer needs --layer');
  const positions = (args.options.positions ?? 'all') as SteerPositions;
  if (!['all', 'prompt', 'generated'].includes(positions)) throw new UsageError('--positions must be all, prompt or generated');
  return {
    vectorPath: String(path),
    layer: intOption(args, 'layer', 0),
    coefficient: numberOption(args, 'coef', 1),
    mode: args.options.ablate ? 'ablate' : 'add',
    positions,
  };
}

export function loadOptions(args: ParsedArgs): { cacheRoot?: string; threads?: number } {
  return {
    cacheRoot: args.options['cache-dir'] as string | undefined,
    threads: args.options.threads !== undefined ? intOption(args, 'threads', 0) : undefined,
  };
}
