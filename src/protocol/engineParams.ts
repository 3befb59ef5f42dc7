/**
 * One parameter schema per engine method, checked where a request arrives (the engine's main loop): a malformed
 * request is a `badRequest` naming the field, before any handler runs; an error a handler throws afterwards is the
 * engine's own (`failed`). The mapped type makes a method without a schema a compile error. Nested documents that
 * have their own validator (trait definitions: validateTrait; extraction options: checked before any rollout) are
 * checked here for shape only.
 */
import type { EngineMethod } from './engineProtocol';
import { isObject } from '../core/validate';
import { SCREEN_METRICS } from '../core/screening/metrics';
import { WEIGHT_PRECISIONS } from '../core/model/weightPrecision';
import { DEVICE_CHOICES } from '../core/onnx/deviceChoice';

/** Undefined when the value fits; else what was expected ("a whole number ≥ 1"). */
type Check = (value: unknown) => string | undefined;
type Shape = Record<string, Check>;

const text: Check = (v) => (typeof v === 'string' ? undefined : 'a string');
const path: Check = (v) => (typeof v === 'string' && v.length > 0 ? undefined : 'a non-empty path');
const bool: Check = (v) => (typeof v === 'boolean' ? undefined : 'true or false');
const object: Check = (v) => (isObject(v) ? undefined : 'an object');
const int = (min: number, max = Number.MAX_SAFE_INTEGER): Check => (v) => (Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max ? undefined : `a whole number ${max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `in ${min}–${max}`}`);
const num = (min = -Infinity, max = Infinity): Check => (v) => (typeof v === 'number' && Number.isFinite(v) && v >= min && v <= max ? undefined : `a finite number${min > -Infinity ? ` ≥ ${min}` : ''}${max < Infinity ? ` ≤ ${max}` : ''}`);
const oneOf = (values: readonly string[]): Check => (v) => (typeof v === 'string' && values.includes(v) ? undefined : `one of ${values.join(', ')}`);
const optional = (check: Check): Check => (v) => (v === undefined ? undefined : check(v));
const listOf = (check: Check, what: string): Check => (v) => (Array.isArray(v) && v.every((x) => check(x) === undefined) ? undefined : `a list of ${what}`);
const recordOf = (check: Check, what: string): Check => (v) => (isObject(v) && Object.values(v).every((x) => check(x) === undefined) ? undefined : `an object of ${what}`);
/** A nested object: its own fields are named in the message (`sampling.topP must be …`). */
const shaped = (shape: Shape): Check => (v) => (isObject(v) ? problem(v, shape, '') : 'an object');

function problem(params: Record<string, unknown>, shape: Shape, prefix: string): string | undefined {
  for (const [field, check] of Object.entries(shape)) {
    const expected = check(params[field]);
    if (expected === undefined) continue;
    // A nested shape already names its own field; prefix it with ours.
    return / must be /.test(expected) ? `${prefix}${field}.${expected}` : `${prefix}${field} must be ${expected}`;
  }
  return undefined;
}

const modelRef: Shape = { modelPath: path, cacheRoot: optional(path), adapterPath: optional(path), weights: optional(oneOf(WEIGHT_PRECISIONS)), device: optional(oneOf(DEVICE_CHOICES)) };
const steer = optional(shaped({ vectorPath: path, layer: int(0), coefficient: num(), mode: optional(oneOf(['add', 'ablate'])), positions: optional(oneOf(['all', 'prompt', 'generated'])) }));
const judge: Check = (v) => (isObject(v) && typeof v.kind === 'string' ? undefined : 'a judge spec ({ kind: … })');

const SHAPES: { [M in EngineMethod]: Shape } = {
  info: {},
  selfCheck: { runs: int(1, 1e7), size: optional(int(1, 4096)), depth: optional(int(1, 64)), rows: optional(int(1, 4096)), device: optional(oneOf(DEVICE_CHOICES)) },
  inspectModel: { modelPath: path, weights: optional(oneOf(WEIGHT_PRECISIONS)) },
  loadModel: modelRef,
  generate: {
    ...modelRef,
    prompt: text,
    system: optional(text),
    chat: optional(bool),
    maxTokens: optional(int(1, 1 << 20)),
    sampling: optional(shaped({ temperature: optional(num(0)), topP: optional(num(Number.MIN_VALUE, 1)), seed: optional(int(0)) })),
    stopStrings: optional(listOf(text, 'strings')),
    steer,
  },
  activations: { ...modelRef, text, chat: optional(bool), steer },
  downloadModel: { repoId: path, destRoot: path, revision: optional(text) },
  extract: { ...modelRef, trait: object, judge, options: object, outPath: path, modelLabel: text },
  screen: {
    ...modelRef,
    datasetPath: optional(path),
    text: optional(text),
    jsonArray: optional(bool),
    vectorPaths: listOf(path, 'vector file paths'),
    layer: optional(int(0)),
    metric: oneOf(SCREEN_METRICS),
    turns: optional(oneOf(['last', 'all'])),
    lineRange: optional(shaped({ start: int(1), end: int(1) })),
    ownResponseTokens: optional(int(1, 4096)),
    thresholds: optional(recordOf(text, 'threshold strings')),
  },
  shift: {
    basePath: path,
    tuned: object,
    vectorPaths: listOf(path, 'vector file paths'),
    layer: optional(int(0)),
    traitFolders: optional(listOf(path, 'folders')),
    judge,
    questions: optional(int(1)),
    maxTokens: optional(int(1, 1 << 20)),
    cacheRoot: optional(path),
    weights: optional(oneOf(WEIGHT_PRECISIONS)),
    device: optional(oneOf(DEVICE_CHOICES)),
  },
  steeringLab: {
    ...modelRef,
    prompt: text,
    system: optional(text),
    vectorPaths: listOf(path, 'vector file paths'),
    traitFolders: listOf(path, 'folders'),
    layer: int(0),
    coefficients: listOf(num(), 'numbers'),
    samplesPerPoint: int(1, 100),
    temperature: num(0),
    seed: int(0),
    maxTokens: int(1, 1 << 20),
    randomControl: bool,
    judge,
  },
  monitor: { ...modelRef, text, vectorPaths: listOf(path, 'vector file paths'), heatmapVector: optional(path), maxTokens: optional(int(1, 1 << 20)) },
};

/** What is wrong with a request's params ("params.maxTokens must be a whole number in 1–65536"), or undefined. */
export function paramsProblem(method: EngineMethod, params: unknown): string | undefined {
  const shape = SHAPES[method];
  if (!shape) return undefined;
  if (params === undefined && Object.keys(shape).length === 0) return undefined;
  if (!isObject(params)) return 'params must be an object';
  const found = problem(params, shape, '');
  return found && `params.${found}`;
}
