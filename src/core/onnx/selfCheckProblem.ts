/**
 * The self-check's problem, pure: a small MatMul→Tanh graph, its input and a float64 JavaScript reference. The engine's
 * self-check (../selfCheck) and the device probe (./devices) both run it; neither needs the other.
 */
import { GraphBuilder, DataType } from './graphBuilder';
import { seededRandom } from '../model/sampling';

/** Largest difference from the float64 reference that passes (float32 accumulation over a few MatMuls). */
export const SELF_CHECK_TOLERANCE = 1e-4;

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
