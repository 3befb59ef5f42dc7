/**
 * Engine self-check: builds a small ONNX graph in TypeScript, runs it on onnxruntime-node and checks the result
 * against a plain JavaScript computation. Proves the native runtime loads and computes correctly on this machine.
 */
import { GraphBuilder, DataType } from './onnx/graphBuilder';
import type { RunContext } from './cancellation';
import { loadOnnxRuntime } from './onnx/runtime';
import { seededRandom } from './model/sampling';
import { sessionProviders, type Device, type DeviceChoice } from './onnx/devices';

export interface SelfCheckParams {
  /** How many times to run the graph (progress and cancel points come between runs). */
  runs: number;
  /** Matrix size n of the n×n MatMul chain; larger means longer runs. */
  size?: number;
  /** Depth of the MatMul→Tanh chain. */
  depth?: number;
  /** Rows of the input (default min(size, 8)); only the first 8 are checked against the JS reference. */
  rows?: number;
  /** Where the engine runs it (the `personaLens.engine.device` setting; default cpu), resolved by the engine. */
  device?: DeviceChoice;
}

export interface SelfCheckResult {
  runs: number;
  size: number;
  depth: number;
  maxAbsError: number;
  msPerRun: number;
  gflops: number;
  onnxruntime: string;
  /** The device the graph ran on. */
  device: Device;
}

/** Largest difference from the float64 reference that passes (float32 accumulation over a few MatMuls). */
export const SELF_CHECK_TOLERANCE = 1e-4;

/** `device`: where the session runs (a resolved device; the engine's setting, or the one device being probed). */
export async function runSelfCheck(params: SelfCheckParams, ctx: RunContext, device: Device = 'cpu'): Promise<SelfCheckResult> {
  const runs = clampInt(params.runs, 1, 100000, 'runs');
  const n = clampInt(params.size ?? 64, 1, 8192, 'size');
  const depth = clampInt(params.depth ?? 4, 1, 64, 'depth');
  const ort = loadOnnxRuntime();
  const rows = clampInt(params.rows ?? Math.min(n, 8), 1, 8192, 'rows');
  const problem = selfCheckProblem(n, depth, rows);
  const session = await ort.InferenceSession.create(problem.model, { intraOpNumThreads: 0, ...sessionProviders(device) });
  const { input, expected, output: x } = problem;
  let maxAbsError = 0;
  const started = performance.now();
  try {
    for (let r = 0; r < runs; r++) {
      await ctx.checkpoint();
      const out = await session.run({ x: new ort.Tensor('float32', input, [rows, n]) });
      const error = selfCheckError(out[x].data as Float32Array, expected);
      maxAbsError = Math.max(maxAbsError, error);
      ctx.progress(r + 1, runs, `run ${r + 1}/${runs}`);
    }
  } finally {
    await session.release();
  }
  const msPerRun = (performance.now() - started) / runs;
  if (!(maxAbsError <= SELF_CHECK_TOLERANCE)) throw new Error(`Self-check failed on ${device}: onnxruntime result differs from the reference by ${maxAbsError}`);
  return { runs, size: n, depth, maxAbsError, msPerRun, gflops: (2 * rows * n * n * depth) / (msPerRun * 1e6), onnxruntime: ort.env.versions.common ?? 'unknown', device };
}

/** The self-check's graph (a MatMul→Tanh chain), its input and the JS reference for the first rows. */
export interface SelfCheckProblem {
  model: Uint8Array;
  input: Float32Array;
  rows: number;
  n: number;
  output: string;
  /** The reference for the first min(rows, 8) rows. */
  expected: Float64Array;
}

export function selfCheckProblem(n: number, depth: number, rows: number): SelfCheckProblem {
  const g = new GraphBuilder('self_check');
  let x = g.input('x', DataType.FLOAT, ['rows', n]);
  const weight = seededMatrix(n, n, 12345, 1 / Math.sqrt(n));
  const w = g.constant({ dataType: DataType.FLOAT, dims: [n, n], data: weight }, 'w');
  for (let i = 0; i < depth; i++) x = g.node('Tanh', [g.node('MatMul', [x, w])]);
  g.output(x, DataType.FLOAT, ['rows', n]);
  const checkedRows = Math.min(rows, 8);
  const input = seededMatrix(rows, n, 777, 1);
  return { model: g.encode(), input, rows, n, output: x, expected: referenceChain(input.subarray(0, checkedRows * n), weight, checkedRows, n, depth) };
}

/** Largest |y − reference| over the checked rows (NaN when y is short or not finite, so a check fails). */
export function selfCheckError(y: ArrayLike<number>, expected: Float64Array): number {
  if (y.length < expected.length) return NaN;
  let max = 0;
  for (let i = 0; i < expected.length; i++) max = Math.max(max, Math.abs(y[i] - expected[i]));
  return max;
}

function clampInt(value: unknown, min: number, max: number, name: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer from ${min} to ${max} (got ${String(value)})`);
  }
  return value;
}

/** Deterministic uniform(−scale, scale) matrix. */
function seededMatrix(rows: number, cols: number, seed: number, scale: number): Float32Array {
  const random = seededRandom(seed);
  return Float32Array.from({ length: rows * cols }, () => (random() * 2 - 1) * scale);
}

function referenceChain(input: Float32Array, w: Float32Array, rows: number, n: number, depth: number): Float64Array {
  let x = Float64Array.from(input);
  for (let d = 0; d < depth; d++) {
    const y = new Float64Array(rows * n);
    for (let r = 0; r < rows; r++)
      for (let k = 0; k < n; k++) {
        const a = x[r * n + k];
        for (let c = 0; c < n; c++) y[r * n + c] += a * w[k * n + c];
      }
    x = y.map(Math.tanh);
  }
  return x;
}
