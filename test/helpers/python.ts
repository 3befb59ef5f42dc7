/**
 * A python3 that has torch (Debian's python3-torch in CI), for tests of the exported PyTorch module and the
 * organism's training scripts. Tests skip without one unless PERSONA_LENS_REQUIRE_TORCH is set (CI sets it, so
 * there a missing torch fails instead of silently skipping).
 */
import { spawnSync } from 'node:child_process';

let cached: string | null | undefined;

export function pythonWithTorch(): string | undefined {
  if (cached === undefined) {
    cached = null;
    for (const candidate of [process.env.PERSONA_LENS_PYTHON, '/usr/bin/python3', 'python3'].filter((c): c is string => !!c)) {
      const probe = spawnSync(candidate, ['-c', 'import torch'], { encoding: 'utf8' });
      if (probe.status === 0) {
        cached = candidate;
        break;
      }
    }
  }
  return cached ?? undefined;
}

/** The python to use, or skips the calling test (fails when torch is required). */
export function requirePython(ctx: Mocha.Context): string {
  const python = pythonWithTorch();
  if (python) return python;
  if (process.env.PERSONA_LENS_REQUIRE_TORCH) throw new Error('PERSONA_LENS_REQUIRE_TORCH is set but no python3 with torch was found (apt-get install python3-torch)');
  ctx.skip();
  throw new Error('unreachable');
}

export function runPython(python: string, args: string[], options: { cwd?: string; input?: string } = {}): string {
  const out = spawnSync(python, args, { encoding: 'utf8', cwd: options.cwd, input: options.input, env: { ...process.env, OPENBLAS_NUM_THREADS: '1' } });
  if (out.status !== 0) throw new Error(`${python} ${args.join(' ')} failed (${out.status}):\n${out.stdout}\n${out.stderr}`);
  return out.stdout;
}
