import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, existsSync, readdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { downloadFromHub } from '../../src/core/model/hub';
import { openCheckpoint } from '../../src/core/model/checkpoint';
import { writeRandomCheckpoint } from '../helpers/randomCheckpoint';

describe('hub download (against a local server that serves a checkpoint like the hub)', function () {
  this.timeout(30000);
  let server: Server;
  let endpoint: string;
  let source: string;
  let dest: string;
  const requests: string[] = [];

  before(async () => {
    source = writeRandomCheckpoint({ architecture: 'qwen2', hidden: 16, heads: 2, kvHeads: 1, vocab: 151669, shards: 2 }).dir;
    dest = mkdtempSync(path.join(os.tmpdir(), 'persona-lens-hub-'));
    server = createServer((req, res) => {
      requests.push(req.url!);
      const m = /^\/acme\/tiny\/resolve\/main\/([\w.-]+)$/.exec(req.url!);
      if (req.url!.startsWith('/gated/')) return void res.writeHead(403).end();
      const file = m && path.join(source, m[1]);
      if (!file || !existsSync(file)) return void res.writeHead(404).end();
      res.writeHead(200).end(readFileSync(file));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.close();
    rmSync(source, { recursive: true, force: true });
    rmSync(dest, { recursive: true, force: true });
  });

  it('fetches config, tokenizer and every shard named by the index, then loads like a local folder', async () => {
    const progress: string[] = [];
    const dir = await downloadFromHub('acme/tiny', dest, { endpoint, onProgress: (f) => progress.push(f) });
    assert.equal(dir, path.join(dest, 'acme--tiny'));
    assert.ok(progress.includes('model-00001-of-00002.safetensors') && progress.includes('model-00002-of-00002.safetensors'));
    assert.ok(!readdirSync(dir).some((f) => f.endsWith('.part')));
    assert.equal(openCheckpoint(dir).spec.architecture, 'qwen2');
    assert.ok(!requests.some((r) => r.endsWith('.bin')), 'never asks for pickle weights');
  });

  it('does not download again what is already there', async () => {
    const before = requests.length;
    await downloadFromHub('acme/tiny', dest, { endpoint });
    assert.equal(requests.length - before, 1, 'only the optional generation_config.json (absent) is asked again');
  });

  it('explains gated models, bad ids and unreachable endpoints', async () => {
    await assert.rejects(downloadFromHub('gated/model', dest, { endpoint }), /refused access \(403\).*HF_TOKEN/);
    await assert.rejects(downloadFromHub('../etc', dest, { endpoint }), /is not a hub model id/);
    await assert.rejects(downloadFromHub('acme/tiny2', dest, { endpoint: 'http://127.0.0.1:9' }), /Could not reach http:\/\/127\.0\.0\.1:9/);
  });
});
