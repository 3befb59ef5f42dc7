/** Options shared by the commands that load a model and steer it, checked before any model is loaded. */
import { intOption, numberOption, stringOption, UsageError, type OptionSpec, type ParsedArgs } from './args';
import type { CliIO } from './command';
import type { SteerRequest } from '../core/model/inference';
import type { SteerPositions } from '../core/model/steering';
import type { LoadOptions } from '../core/model/loadedModel';
import { requireInputFile, type NamedPath } from '../core/io/userFiles';
import { isOllamaRef, resolveOllamaModel } from '../core/gguf/ollamaStore';
import { isWeightPrecisionChoice, WEIGHT_PRECISIONS, type WeightPrecisionChoice } from '../core/model/weightPrecision';
import { DEVICE_CHOICES, isDeviceChoice, type DeviceChoice } from '../core/onnx/deviceChoice';

export const MODEL_OPTIONS: OptionSpec[] = [
  { name: 'model', kind: 'string', description: 'checkpoint folder (HF safetensors), .gguf file, or ollama:NAME[:TAG] from the local Ollama store', required: true },
  { name: 'cache-dir', kind: 'string', description: 'where prepared graphs live (default ~/.cache/persona-lens)' },
  { name: 'threads', kind: 'string', description: 'onnxruntime threads (default: all cores)' },
  { name: 'weights', kind: 'string', description: 'weight precision: auto (default), f32, int8 or int4' },
  { name: 'device', kind: 'string', description: 'where the model runs: auto (default: the first GPU provider that passes a self-check, else cpu), cpu, webgpu, cuda, dml or coreml' },
];

export const STEER_OPTIONS: OptionSpec[] = [
  { name: 'steer', kind: 'string', description: 'steering vector .safetensors ([d] or [layers+1, d])' },
  { name: 'layer', kind: 'string', description: 'residual row L: add after block L (with --steer)' },
  { name: 'coef', kind: 'string', description: 'coefficient α (with --steer)' },
  { name: 'positions', kind: 'string', description: 'all | prompt | generated (default all)' },
  { name: 'ablate', kind: 'flag', description: 'project the direction out instead of adding it' },
];

export function steerRequest(args: ParsedArgs): SteerRequest | undefined {
  const path = stringOption(args, 'steer');
  if (path === undefined) {
    if (args.options.layer !== undefined || args.options.coef !== undefined || args.options.positions !== undefined || args.options.ablate) throw new UsageError('--layer, --coef, --positions and --ablate go with --steer');
    return undefined;
  }
  if (args.options.layer === undefined) throw new UsageError('--steer needs --layer');
  const positions = (args.options.positions ?? 'all') as SteerPositions;
  if (!['all', 'prompt', 'generated'].includes(positions)) throw new UsageError('--positions must be all, prompt or generated');
  requireInputFile(path, '--steer');
  return {
    vectorPath: path,
    layer: intOption(args, 'layer', 0, { min: 0 }),
    coefficient: numberOption(args, 'coef', 1),
    mode: args.options.ablate ? 'ablate' : 'add',
    positions,
  };
}

/** The files a model command reads: the checkpoint folder (each of its files counts), the GGUF file or Ollama blob. */
export function modelInputs(args: ParsedArgs, option = 'model'): NamedPath[] {
  const model = stringOption(args, option);
  if (model === undefined) return [];
  if (!isOllamaRef(model)) return [{ label: `--${option} checkpoint`, path: model }];
  try {
    return [{ label: `--${option} ${model}`, path: resolveOllamaModel(model).file }];
  } catch {
    // An unknown Ollama model is reported when it is opened, with the list of local ones.
    return [];
  }
}

export function loadOptions(args: ParsedArgs, io?: CliIO): LoadOptions & { cacheRoot?: string } {
  return {
    cacheRoot: stringOption(args, 'cache-dir'),
    threads: args.options.threads !== undefined ? intOption(args, 'threads', 0, { min: 1, max: 1024 }) : undefined,
    weights: weightsOption(args),
    device: deviceOption(args),
    log: io ? (line) => io.err(line) : undefined,
    progress: io ? (done, total, message) => io.progress?.(done, total, message) : undefined,
  };
}

export function weightsOption(args: ParsedArgs): WeightPrecisionChoice | undefined {
  const raw = stringOption(args, 'weights');
  if (raw === undefined) return undefined;
  if (!isWeightPrecisionChoice(raw)) throw new UsageError(`--weights must be ${WEIGHT_PRECISIONS.join(', ')} (got ${raw})`);
  return raw;
}

export function deviceOption(args: ParsedArgs): DeviceChoice | undefined {
  const raw = stringOption(args, 'device');
  if (raw === undefined) return undefined;
  if (!isDeviceChoice(raw)) throw new UsageError(`--device must be ${DEVICE_CHOICES.join(', ')} (got ${raw})`);
  return raw;
}
