/** Cosine of a[from, to) and b[from, to) (fidelity checks of quantized weights). */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>, from = 0, to = a.length): number {
  let dot = 0;
  let x = 0;
  let y = 0;
  for (let i = from; i < to; i++) {
    dot += a[i] * b[i];
    x += a[i] * a[i];
    y += b[i] * b[i];
  }
  return dot / Math.sqrt(x * y);
}
