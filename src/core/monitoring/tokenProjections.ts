/**
 * The math of the live monitor, kept free of models and files so it is unit-tested on its own: per-token
 * projections of one residual row on a persona vector's unit direction, and the text piece each token shows.
 */

/** v / |v|; a zero vector has no direction and is refused. */
export function unitDirection(v: Float32Array): Float32Array {
  let norm = 0;
  for (const x of v) norm += x * x;
  norm = Math.sqrt(norm);
  if (!(norm > 0)) throw new RangeError('the vector is zero at this layer');
  return v.map((x) => x / norm);
}

/** h_t · v̂ for every token t of one residual row laid out [seq·d]. */
export function tokenProjections(hidden: Float32Array, seq: number, d: number, direction: Float32Array): number[] {
  if (direction.length !== d) throw new RangeError(`direction has width ${direction.length}, residuals have ${d}`);
  if (hidden.length < seq * d) throw new RangeError(`residual row has ${hidden.length} values, expected ${seq}·${d}`);
  const unit = unitDirection(direction);
  const out: number[] = [];
  for (let t = 0; t < seq; t++) {
    let dot = 0;
    const base = t * d;
    for (let i = 0; i < d; i++) dot += hidden[base + i] * unit[i];
    out.push(dot);
  }
  return out;
}

/**
 * The text each token adds: decode(window + token) minus decode(window), so word-level and byte-level tokenizers
 * keep their spaces, and a character split over several byte tokens (decoded as U+FFFD until complete) lands on
 * the last of them. Pieces concatenate to the decoded text whenever decoding is prefix-stable.
 */
export function tokenPieces(ids: readonly number[], decode: (ids: number[]) => string, window = 8): string[] {
  const complete = (text: string) => text.replace(/\ufffd+$/, '');
  return ids.map((id, i) => {
    const context = ids.slice(Math.max(0, i - window), i);
    const before = complete(decode(context));
    const after = complete(decode([...context, id]));
    return after.startsWith(before) ? after.slice(before.length) : decode([id]);
  });
}

/** A piece of text and whether it is one of the tokens a score peaked on. */
export interface PeakSegment {
  text: string;
  peak: boolean;
}

/**
 * The text around the tokens a token-pooled score took (`peak`, response-token indices, the maximum first): the
 * tokens within `context` of the maximum, consecutive peak tokens merged into one highlighted segment.
 */
export function peakExcerpt(ids: readonly number[], decode: (ids: number[]) => string, peak: readonly number[], context = 6): PeakSegment[] {
  if (!peak.length || !ids.length) return [];
  const at = Math.min(Math.max(0, peak[0]), ids.length - 1);
  const from = Math.max(0, at - context);
  const to = Math.min(ids.length, at + context + 1);
  const hot = new Set(peak);
  const start = Math.max(0, from - 8); // tokenPieces' window: the first piece keeps its leading space
  const pieces = tokenPieces(ids.slice(start, to), decode).slice(from - start);
  const segments: PeakSegment[] = from > 0 ? [{ text: '…', peak: false }] : [];
  pieces.forEach((text, i) => {
    const isPeak = hot.has(from + i);
    const last = segments[segments.length - 1];
    if (last && last.peak === isPeak && last.text !== '…') last.text += text;
    else segments.push({ text, peak: isPeak });
  });
  if (to < ids.length) segments.push({ text: '…', peak: false });
  return segments;
}

/** Segments as plain text with the peak in «guillemets» (SARIF, Problems, the CLI). */
export function peakText(segments: readonly PeakSegment[]): string {
  return segments.map((s) => (s.peak ? `${/^\s/.test(s.text) ? ' ' : ''}«${s.text.trim()}»${/\s$/.test(s.text) ? ' ' : ''}` : s.text)).join('').trim();
}
