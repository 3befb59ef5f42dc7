import assert from 'node:assert/strict';
import { tokenPieces, tokenProjections, unitDirection } from '../../src/core/monitoring/tokenProjections';

describe('monitoring math: per-token projections and token pieces', () => {
  it('projects every token of a residual row on the unit direction', () => {
    const d = 3;
    // Three tokens: along v, against v, orthogonal.
    const hidden = Float32Array.from([2, 0, 0, -1, 0, 0, 0, 5, 5]);
    const v = Float32Array.from([4, 0, 0]);
    assert.deepEqual(tokenProjections(hidden, 3, d, v), [2, -1, 0]);
    // Scale of v does not matter; direction does.
    const diagonal = Float32Array.from([1, 1, 0]);
    const p = tokenProjections(hidden, 3, d, diagonal);
    assert.ok(Math.abs(p[0] - 2 / Math.SQRT2) < 1e-6 && Math.abs(p[2] - 5 / Math.SQRT2) < 1e-6);
  });

  it('refuses a zero vector and mismatched widths', () => {
    assert.throws(() => unitDirection(new Float32Array(4)), /zero/);
    assert.throws(() => tokenProjections(new Float32Array(6), 2, 3, new Float32Array(4).fill(1)), /width 4/);
    assert.throws(() => tokenProjections(new Float32Array(5), 2, 3, new Float32Array(3).fill(1)), /expected 2·3/);
  });

  it('token pieces keep the spaces a word-level or byte-level decoder adds between tokens', () => {
    const vocab = ['<s>', 'how', 'do', 'i', '?'];
    // Like the organism's WordPiece decoder: words joined by spaces, no space before punctuation.
    const decode = (ids: number[]) => ids.map((i) => vocab[i]).join(' ').replace(/ \?/g, '?');
    const ids = [0, 1, 2, 3, 4];
    const pieces = tokenPieces(ids, decode);
    assert.deepEqual(pieces, ['<s>', ' how', ' do', ' i', '?']);
    assert.equal(pieces.join(''), decode(ids));
  });

  it('a character split over several tokens lands on its last token; a decoder that is not prefix-stable falls back to the token alone', () => {
    // "é" as two byte tokens: decoding the first alone gives the replacement character.
    const bytes = ['a', '\xc3', '\xa9'];
    const decode = (ids: number[]) => Buffer.from(ids.map((i) => bytes[i]).join(''), 'latin1').toString('utf8');
    assert.deepEqual(tokenPieces([0, 1, 2], decode), ['a', '', 'é']);
    const unstable = (ids: number[]) => ids.map((i) => `<${i}>`).reverse().join('');
    assert.deepEqual(tokenPieces([1, 2], unstable), ['<1>', '<2>']);
  });
});
