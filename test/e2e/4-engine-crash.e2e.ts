/**
 * E2E 4: the engine process (a forked node child of the extension host, running dist/engine.js) is killed with
 * SIGKILL in the middle of an extraction. The extension must say so (a warning, and the extraction fails with the
 * reason), and the next commands must work on a fresh engine: the self-check, and the same extraction again.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { paths } from '../../scripts/e2e/setup.mjs';
import { codeServer, wb } from './hooks';
import { enginePids, isAlive, waitUntil } from './workbench';

describe('E2E 4: engine killed mid-run', function () {
  this.timeout(300000);
  before(() => wb().reset());

  let killed = 0;

  it('reports the killed engine when it dies during an extraction', async () => {
    const w = wb();
    const file = path.join(paths.workspace, '.persona', 'vectors', 'hallucinating.organism.safetensors');
    await w.pick(/trait to extract/, { command: 'Persona Lens: Extract Persona Vector…', filter: 'hallucinating', row: /^hallucinating, from organism/ });
    // Mid-run: the progress notification counts rollouts.
    await w.waitForNotification(/extracting "hallucinating"/, { timeout: 30000 });
    await waitUntil('rollout progress', async () => (await w.page.locator('.notification-toast', { hasText: /rollouts: \d+\/\d+/ }).count()) > 0, { timeout: 60000 });
    const pids = enginePids(codeServer().pid);
    assert.equal(pids.length, 1, `one engine process: ${pids.join(', ')}`);
    killed = pids[0];
    process.kill(killed, 'SIGKILL');
    await waitUntil(`engine ${killed} to be gone`, () => !isAlive(killed));

    const warning = await w.waitForNotification(/^The Persona Lens engine was killed by SIGKILL\. It restarts on the next request\./);
    assert.equal(warning.severity, 'warning');
    const failed = await w.waitForNotification(/^Persona Lens: extracting "hallucinating" failed: The Persona Lens engine was killed by SIGKILL/);
    assert.equal(failed.severity, 'error');
    assert.equal(existsSync(file), false, 'no vector file from the killed run');
    // The progress notification of the dead request is closed, not left spinning.
    await waitUntil('the extraction progress to close', async () => (await w.page.locator('.notification-toast', { hasText: /rollouts: \d+\/\d+/ }).count()) === 0, { timeout: 10000 });
    await w.runCommand('Notifications: Show Notifications');
    await w.page.locator('.notifications-center .notification-list-item-message', { hasText: /^The Persona Lens engine was killed/ }).waitFor();
    await w.screenshot('engine-killed');
    await w.page.keyboard.press('Escape');
  });

  it('recovers on the next commands: the self-check and the same extraction run on a fresh engine', async () => {
    const w = wb();
    await w.runCommand('Notifications: Clear All Notifications');
    await w.runCommand('Persona Lens: Run Engine Self-Check');
    const ok = await w.waitForNotification(/Persona Lens engine OK \(onnxruntime [\d.]+ on \w+\)/, { timeout: 60000 });
    assert.equal(ok.severity, 'info');
    const fresh = enginePids(codeServer().pid);
    assert.equal(fresh.length, 1);
    assert.notEqual(fresh[0], killed, 'a new engine process');

    await w.pick(/trait to extract/, { command: 'Persona Lens: Extract Persona Vector…', filter: 'hallucinating', row: /^hallucinating, from organism/ });
    await w.waitForNotification(/"hallucinating" vector: kept \d+\/\d+ pairs/, { timeout: 240000 });
    assert.ok(existsSync(path.join(paths.workspace, '.persona', 'vectors', 'hallucinating.organism.safetensors')));
    await w.screenshot('engine-recovered');
  });
});
