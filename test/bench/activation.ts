/** Extension activation time: a fresh Node process loads dist/extension.js (mocked vscode) and calls activate(). */
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import type { BenchRow } from './table';

const repoRoot = path.join(__dirname, '..', '..');

export function benchActivation(samples = 15): BenchRow[] {
  const script = `
    require(${JSON.stringify(path.join(repoRoot, 'test', 'helpers', 'mockVscode.ts'))}).installVscodeMock();
    const vscode = require('vscode');
    const t0 = process.hrtime.bigint();
    const ext = require(${JSON.stringify(path.join(repoRoot, 'dist', 'extension.js'))});
    ext.activate({ subscriptions: [], extensionPath: ${JSON.stringify(repoRoot)}, extensionUri: vscode.Uri.file(${JSON.stringify(repoRoot)}) });
    const t1 = process.hrtime.bigint();
    process.stdout.write(String(Number(t1 - t0) / 1e6));`;
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    times.push(Number(execFileSync(process.execPath, ['--require', 'tsx/cjs', '-e', script], { cwd: repoRoot, encoding: 'utf8' })));
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  return [
    { benchmark: 'extension activation (require + activate), median', value: median.toFixed(2), unit: 'ms', target: '< 50 ms', ok: median < 50 },
    { benchmark: 'extension activation, worst of ' + samples, value: times[times.length - 1].toFixed(2), unit: 'ms' },
  ];
}
