import assert from 'node:assert/strict';
import { peakExcerpt, peakText, tokenPieces, tokenProjections, unitDirection } from '../../src/core/monitoring/tokenProjections';
import { alignTokens, poolTokens, tokenDeltas, topIndices, topKMean } from '../../src/core/screening/metrics';
import { scoresCsvHeader, scoresCsvRow } from '../../src/core/screening/scoreRows';

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

  it('token ΔP: tokens aligned with the own answer (longest common subsequence), the rest against its mean; pooled, with where the maximum lies', () => {
    // dataset: "sure . i hope you suffer . good luck"   own: "sure . good luck ! bye"
    const dataset = [1, 2, 3, 4, 5, 6, 2, 7, 8];
    const own = [1, 2, 7, 8, 9, 10];
    assert.deepEqual(alignTokens(dataset, own), [0, 1, -1, -1, -1, -1, -1, 2, 3]);
    assert.deepEqual(alignTokens([], own), []);
    assert.deepEqual(alignTokens(dataset, []), new Array(9).fill(-1));
    assert.deepEqual(alignTokens([5, 5], [5]), [0, -1], 'each own token is used once');
    // A matched token is compared with the same token of the own answer: what a word projects by itself cancels.
    const ownProjections = [3, -1, 4, 0, 2, 4]; // mean 2
    const datasetProjections = [3, -1, 6, 7, 8, 9, -1, 4, 0];
    const deltas = tokenDeltas(datasetProjections, ownProjections, alignTokens(dataset, own));
    assert.deepEqual(deltas, [0, 0, 4, 5, 6, 7, -3, 0, 0]);
    assert.throws(() => tokenDeltas([1], [], [-1]), /no tokens/);
    assert.deepEqual(topIndices(deltas, 3), [5, 4, 3]);
    assert.deepEqual(topIndices([1, 5, 5], 1), [1], 'ties go to the earlier token');
    assert.equal(topKMean(deltas, 3), 6);
    assert.equal(topKMean([2, 4], 4), 3, 'fewer tokens than k: all of them');
    assert.deepEqual(poolTokens(deltas, 3), { tokenMean: 19 / 9, tokenMax: 7, tokenTopK: 6, peak: [5, 4, 3] });
    assert.throws(() => poolTokens([]), /no response tokens/);
  });

  it('the peak excerpt: the text around the maximum, consecutive peak tokens merged; plain text marks them «»', () => {
    const vocab = ['sure', '.', 'i', 'hope', 'you', 'suffer', 'first', 'mix', 'flour', 'then', 'bake', 'it'];
    const decode = (ids: number[]) => ids.map((i) => vocab[i]).join(' ').replace(/ \./g, '.');
    const ids = [0, 1, 2, 3, 4, 5, 1, 6, 7, 8, 1, 9, 10, 11, 1];
    const segments = peakExcerpt(ids, decode, [5, 3, 4, 2], 5);
    assert.deepEqual(segments, [
      { text: 'sure.', peak: false },
      { text: ' i hope you suffer', peak: true },
      { text: '. first mix flour.', peak: false },
      { text: '…', peak: false },
    ]);
    assert.equal(peakText(segments), 'sure. «i hope you suffer». first mix flour.…');
    assert.equal(peakExcerpt(ids, decode, [13], 2)[0].text, '…', 'cut text is marked');
    assert.deepEqual(peakExcerpt([], decode, [0]), []);
  });

  it('score rows carry every metric (CSV columns per trait and metric)', () => {
    assert.equal(scoresCsvHeader(['evil']), 'index,start_line,end_line,turn,evil_projection,evil_fast_delta,evil_delta,evil_token_mean,evil_token_max,evil_token_top_k');
    const sample = { kind: 'scored', index: 0, startLine: 1, endLine: 1, turn: 0, format: 'messages', hash: 'h', responseTokens: 3, scores: { evil: { projection: 1, fastDelta: 2, delta: 3, tokenMean: 2.5, tokenMax: 5, tokenTopK: 4, peak: [0] } } } as never;
    assert.equal(scoresCsvRow(sample, ['evil']), '0,1,1,0,1,2,3,2.5,5,4');
  });
});
