import assert from 'node:assert/strict';
import { formatProgress, ProgressLine } from '../../src/cli/progressLine';
import { formatDuration } from '../../src/core/cancellation';
import { interruptHandler } from '../../src/cli/main';
import { EXIT_INTERRUPTED } from '../../src/cli/command';

/** A stream that records what was written, and a clock the test moves. */
function fake(isTTY: boolean, columns?: number) {
  const chunks: string[] = [];
  const clock = { t: 0 };
  const stream = { isTTY, columns, write: (s: string) => chunks.push(s) };
  return { chunks, clock, line: new ProgressLine(stream, { now: () => clock.t, plainIntervalMs: 10_000, redrawIntervalMs: 100 }), text: () => chunks.join('') };
}

describe('CLI progress line', () => {
  it('counts, percentage, rate and time left, measured from the step\'s first report', () => {
    const step = { total: 40, firstAt: 0, firstDone: 4, done: 4, message: 'rollouts: 4/40' };
    assert.equal(formatProgress(step, 0), 'rollouts: 4/40 · 10%', 'no rate before a second report');
    // 16 more in 8 s: 2/s, 20 left → 10 s.
    assert.equal(formatProgress({ ...step, done: 20, message: 'rollouts: 20/40, ~3s left' }, 8000), 'rollouts: 20/40 · 50% · 2.0/s · ~10s left', "core's own estimate is replaced");
    // Slower than one a second: seconds each; 90 left at 12 s each = 18 min.
    assert.equal(formatProgress({ total: 100, firstAt: 0, firstDone: 0, done: 10, message: 'steering layer 3, α=2' }, 120_000), 'steering layer 3, α=2: 10/100 · 10% · 12.0s each · ~18m 00s left');
    assert.equal(formatProgress({ total: 40, firstAt: 0, firstDone: 0, done: 40, message: 'rollouts: 40/40' }, 4000), 'rollouts: 40/40 · 100% · 10/s', 'a finished step shows no time left');
    assert.equal(formatProgress({ total: 0, firstAt: 0, firstDone: 5, done: 25, message: '25 samples screened' }, 10_000), '25 samples screened · 2.0/s', 'an unknown total: count and rate only');
    assert.equal(formatProgress({ total: 3, firstAt: 0, firstDone: 1, done: 1 }, 0), '1/3 · 33%');
  });

  it('durations read as seconds, minutes or hours', () => {
    assert.deepEqual([0.4, 45, 185, 3600 * 2 + 7 * 60 + 10].map(formatDuration), ['0s', '45s', '3m 05s', '2h 07m']);
  });

  it('on a terminal: redrawn in place at most every 100 ms, a finished step stays, the next starts a new line', () => {
    const f = fake(true);
    f.line.update(1, 4, 'run 1/4');
    f.clock.t = 50;
    f.line.update(2, 4, 'run 2/4'); // within 100 ms of the last redraw: skipped
    f.clock.t = 200;
    f.line.update(3, 4, 'run 3/4');
    f.clock.t = 210;
    f.line.update(4, 4, 'run 4/4'); // the end of a step is always drawn
    f.clock.t = 300;
    f.line.update(1, 10, 'activations: 1/10 kept pairs');
    f.line.finish();
    assert.deepEqual(f.chunks, ['\r\x1b[Krun 1/4 · 25%', '\r\x1b[Krun 3/4 · 75% · 10/s · ~0s left', '\r\x1b[Krun 4/4 · 100% · 14/s', '\n', '\r\x1b[Kactivations: 1/10 kept pairs · 10%', '\n']);
  });

  it('on a terminal: a log line clears an unfinished line, which returns with the next report; a line never wraps', () => {
    const f = fake(true, 20);
    f.line.update(1, 4, 'rollouts: 1/4');
    f.line.line('cache: discarded x');
    f.clock.t = 10; // sooner than the redraw interval, but the line was cleared: it comes back
    f.line.update(2, 4, 'rollouts: 2/4');
    assert.deepEqual(f.chunks, ['\r\x1b[Krollouts: 1/4 · 25%', '\r\x1b[K', 'cache: discarded x\n', '\r\x1b[Krollouts: 2/4 · 50…']);
    assert.ok(f.chunks.at(-1)!.length - '\r\x1b[K'.length < 20);
  });

  it('on a terminal: output after a finished step leaves that step\'s line above it', () => {
    const f = fake(true);
    f.line.update(2, 2, 'run 2/2');
    f.line.around(() => f.chunks.push('result\n'));
    assert.deepEqual(f.chunks, ['\r\x1b[Krun 2/2 · 100%', '\n', 'result\n']);
  });

  it('not a terminal: plain lines at a step\'s start and end and at most every interval between, no control characters', () => {
    const f = fake(false);
    for (let done = 1; done <= 30; done++) {
      f.clock.t = done * 1000;
      f.line.update(done, 30, `rollouts: ${done}/30`);
    }
    f.line.line('a log line');
    f.line.finish();
    assert.deepEqual(f.text().split('\n'), ['rollouts: 1/30 · 3%', 'rollouts: 11/30 · 36% · 1.0/s · ~19s left', 'rollouts: 21/30 · 70% · 1.0/s · ~9s left', 'rollouts: 30/30 · 100% · 1.0/s', 'a log line', '']);
    assert.doesNotMatch(f.text(), /[\r\x1b]/);
  });

  it('a count that goes back or a new total is a new step with its own rate', () => {
    const f = fake(false);
    f.line.update(5, 10, 'a: 5/10');
    f.clock.t = 1000;
    f.line.update(2, 10, 'b: 2/10'); // went back: new step, no rate yet
    assert.deepEqual(f.text().split('\n'), ['a: 5/10 · 50%', 'b: 2/10 · 20%', '']);
  });
});

describe('Ctrl+C', () => {
  it('the first stops at the next checkpoint and says so; the second exits with 130', () => {
    const controller = new AbortController();
    const said: string[] = [];
    const exits: number[] = [];
    const onSigint = interruptHandler(controller, (l) => said.push(l), (code) => exits.push(code));
    onSigint();
    assert.equal(controller.signal.aborted, true);
    assert.deepEqual(exits, []);
    assert.deepEqual(said, ['stopping after the current batch; press Ctrl+C again to exit now']);
    onSigint();
    assert.deepEqual(exits, [EXIT_INTERRUPTED]);
    assert.equal(EXIT_INTERRUPTED, 130);
  });
});
