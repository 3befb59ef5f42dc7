import assert from 'node:assert/strict';
import { progressReporter, runContext } from '../../src/core/cancellation';

describe('progress reporter', () => {
  it('reports done/total with a time-left estimate once there is a pace, and none at the start or the end', async () => {
    const seen: { done: number; total: number; message?: string }[] = [];
    const report = progressReporter(runContext(undefined, (done, total, message) => seen.push({ done, total, message })), 4);
    report(0, 'rollouts');
    await new Promise((resolve) => setTimeout(resolve, 120));
    report(1, 'rollouts');
    report(4, 'rollouts');
    assert.equal(seen[0].message, 'rollouts: 0/4');
    assert.match(seen[1].message!, /^rollouts: 1\/4, ~\d+s left$/);
    assert.equal(seen[2].message, 'rollouts: 4/4');
    assert.deepEqual(seen.map((s) => s.total), [4, 4, 4]);
  });

  it('estimates from the pace: 1 of 4 after ~1.2 s leaves ~4 s', async () => {
    const seen: string[] = [];
    const realNow = Date.now;
    let now = 1_000_000;
    Date.now = () => now;
    try {
      const report = progressReporter(runContext(undefined, (_d, _t, message) => seen.push(message!)), 4);
      now += 1200;
      report(1, 'layer search');
    } finally {
      Date.now = realNow;
    }
    assert.equal(seen[0], 'layer search: 1/4, ~4s left');
  });
});
