/** Makes `require('vscode')` resolve to test/mocks/vscode.ts for the modules loaded after this call. */
import Module from 'node:module';
import * as path from 'node:path';

const mockPath = path.join(__dirname, '..', 'mocks', 'vscode.ts');
let installed = false;

export function installVscodeMock(): typeof import('../mocks/vscode') {
  if (!installed) {
    const mod = Module as unknown as { _resolveFilename: (request: string, ...rest: unknown[]) => string };
    const original = mod._resolveFilename;
    mod._resolveFilename = function (request: string, ...rest: unknown[]) {
      if (request === 'vscode') return mockPath;
      return original.call(this, request, ...rest);
    };
    installed = true;
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(mockPath);
}

export const repoRoot = path.join(__dirname, '..', '..');
