import assert from 'node:assert/strict';
import { parseEngineMessage, parseHostMessage } from '../../src/protocol/engineProtocol';
import { parseHostToPanel, parsePanelMessage } from '../../src/protocol/panelProtocol';
import { contentSecurityPolicy, panelHtml } from '../../src/extension/panelHtml';

describe('engine protocol validation', () => {
  it('accepts well-formed messages and rejects malformed ones', () => {
    assert.deepEqual(parseHostMessage({ type: 'cancel', id: 3 }), { type: 'cancel', id: 3 });
    assert.deepEqual(parseHostMessage({ type: 'request', id: 1, method: 'info' }), { type: 'request', id: 1, method: 'info', params: {} });
    assert.equal(parseHostMessage({ type: 'request', id: 1.5, method: 'info' }), undefined);
    assert.equal(parseHostMessage('request'), undefined);
    assert.equal(parseEngineMessage({ type: 'progress', id: 1, progress: { done: 'x', total: 2 } }), undefined);
    assert.equal(parseEngineMessage({ type: 'error', id: 1, error: { code: 'failed' } }), undefined);
    assert.deepEqual(parseEngineMessage({ type: 'result', id: 2, result: 5 }), { type: 'result', id: 2, result: 5 });
  });
});

describe('panel protocol validation', () => {
  it('validates messages from the webview', () => {
    assert.deepEqual(parsePanelMessage({ type: 'runSelfCheck', runs: 5 }), { type: 'runSelfCheck', runs: 5 });
    assert.equal(parsePanelMessage({ type: 'runSelfCheck', runs: 1e9 }), undefined);
    assert.equal(parsePanelMessage({ type: 'runScript', code: 'x' }), undefined);
    assert.equal(parsePanelMessage(null), undefined);
  });
  it('validates messages from the host', () => {
    assert.equal(parseHostToPanel({ type: 'engineStatus', status: 'weird' }), undefined);
    assert.ok(parseHostToPanel({ type: 'engineStatus', status: 'ready' }));
  });
});

describe('panel HTML', () => {
  it('has a strict CSP with a fresh nonce per load and no remote or inline script', () => {
    const a = panelHtml({ cspSource: 'vscode-resource:', scriptUri: 'vscode-resource:/p.js', styleUri: 'vscode-resource:/p.css' });
    const b = panelHtml({ cspSource: 'vscode-resource:', scriptUri: 'vscode-resource:/p.js', styleUri: 'vscode-resource:/p.css' });
    const nonceOf = (html: string) => /nonce-([A-Za-z0-9_-]+)/.exec(html)![1];
    assert.notEqual(nonceOf(a), nonceOf(b));
    assert.ok(nonceOf(a).length >= 20);
    const csp = contentSecurityPolicy('vscode-resource:', 'abc');
    assert.match(csp, /^default-src 'none'/);
    assert.doesNotMatch(csp, /unsafe-eval|unsafe-inline|https?:/);
    assert.equal((a.match(/<script/g) ?? []).length, 1);
    assert.match(a, new RegExp(`<script nonce="${nonceOf(a)}" src=`));
  });
});
