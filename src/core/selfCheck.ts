/**
 * Engine self-check: builds a small ONNX graph in TypeScript, runs it on onnxruntime-node and checks the result
 * against a plain JavaScript computation. Proves the native runtime loads and computes correctly on this machine.
 */
import type { RunContext } from './cancellation';
import { loadOnnxRuntime } from './onnx/runtime';
import { sessionProviders } from './onnx/devices';
import type { Device, DeviceChoice } from './onnx/deviceChoice';
import { selfCheckError, selfCheckProblem, SELF_CHECK_TOLERANCE } from './onnx/selfCheckProblem';

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

function clampInt(value: unknown, min: number, max: number, name: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer from ${min} to ${max} (got ${String(value)})`);
  }
  return value;
}
