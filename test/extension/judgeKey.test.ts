/** The extension's judge key: its SecretStorage key for any endpoint, else OPENAI_API_KEY over https or to this machine. */
import assert from 'node:assert/strict';
import { installVscodeMock } from '../helpers/mockVscode';

describe('judge API key (mocked vscode)', () => {
  const vscode = installVscodeMock();
  // Loaded after the mock: the host glue imports `vscode`.
  const { judgeSpecFor } = require('../../src/extension/judges') as typeof import('../../src/extension/judges');

  it('sends OPENAI_API_KEY over https or to a local server, never in clear text across a network; a stored key goes to the configured endpoint', async () => {
    const saved = process.env.OPENAI_API_KEY;
    process.env.OPENAI_API_KEY = 'sk-openai';
    try {
      let secret: string | undefined;
      const context = { secrets: { get: async () => secret } } as unknown as import('vscode').ExtensionContext;
      const keyFor = async (baseUrl: string) => {
        vscode.resetRecorded();
        const config = vscode.workspace.getConfiguration('personaLens.judge');
        await config.update('provider', 'openai');
        await config.update('baseUrl', baseUrl);
        await config.update('model', 'm');
        const spec = await judgeSpecFor(context, '/models/x');
        return spec.kind === 'openai' ? spec.apiKey : assert.fail(spec.kind);
      };
      assert.equal(await keyFor('https://api.openai.com/v1'), 'sk-openai');
      assert.equal(await keyFor('http://localhost:11434/v1'), 'sk-openai', 'a local server');
      assert.equal(await keyFor('http://api.openai.com/v1'), undefined, 'never in clear text');
      assert.equal(await keyFor('http://192.168.1.20:8000/v1'), undefined, 'never in clear text');
      secret = 'stored';
      assert.equal(await keyFor('http://localhost:11434/v1'), 'stored');
    } finally {
      if (saved === undefined) delete process.env.OPENAI_API_KEY;
      else process.env.OPENAI_API_KEY = saved;
    }
  });
});
