/**
 * The one way Persona Lens writes a file the user named, and checks a file the user gave it.
 *
 * - An output is refused when it is any input of the run or another output of it, compared by identity (device and
 *   inode when the file exists, else the real path of its folder plus its name), so symlinks, hard links and `../`
 *   spellings of the same file are caught. An input folder (a checkpoint) counts every file directly in it.
 * - Bytes go to a temporary file in the target's folder and are renamed over the target only when complete: a
 *   failed or cancelled run never leaves a truncated file, and the old file survives until the new one is whole.
 * - Missing parent folders are created (the user asked for that path); every file-system error becomes a
 *   `UserFileError` naming the path and what to do, never a stack trace or an unhandled stream 'error'.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, realpathSync, renameSync, rmSync, statSync, writeSync, type Stats } from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';

export class UserFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserFileError';
  }
}

/** A file the user named, with what it is for (an option name such as `--out`, or "dataset"). */
export interface NamedPath {
  label: string;
  path: string;
}

/** What to tell the user for a file-system error code. */
function advice(code: string | undefined): string {
  switch (code) {
    case 'ENOENT':
      return 'it does not exist: check the path';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied: choose a folder you can write to, or fix its permissions';
    case 'EROFS':
      return 'the file system is read-only: choose a writable folder';
    case 'EISDIR':
      return 'it is a folder: name a file';
    case 'ENOTDIR':
    case 'EEXIST':
      return 'a part of the path is a file, not a folder';
    case 'ENOSPC':
      return 'the disk is full: free some space or choose another disk';
    case 'EDQUOT':
      return 'the disk quota is exceeded';
    case 'ENAMETOOLONG':
      return 'the path is too long';
    default:
      return code ? `the system said ${code}` : 'unknown error';
  }
}

/** Turns a file-system error into a message with the path and what to do. */
export function fileError(err: unknown, file: string, action: string): UserFileError {
  if (err instanceof UserFileError) return err;
  const code = (err as NodeJS.ErrnoException)?.code;
  return new UserFileError(`cannot ${action} ${file}: ${advice(code)}`);
}

/** Checks that a user-given input exists and is a regular file (following symlinks); returns its stats. */
export function requireInputFile(file: string, label: string): Stats {
  let stats: Stats;
  try {
    stats = statSync(file);
  } catch (err) {
    throw fileError(err, file, `read ${label}`);
  }
  if (stats.isDirectory()) throw new UserFileError(`${label} ${file} is a folder: name a file`);
  if (!stats.isFile()) throw new UserFileError(`${label} ${file} is not a regular file`);
  return stats;
}

interface Identity {
  inode?: string;
  real: string;
}

function identityOf(file: string): Identity | undefined {
  try {
    const st = statSync(file);
    return { inode: `${st.dev}:${st.ino}`, real: realpathSync(file) };
  } catch {
    // Not there yet: its folder's real path plus its name (the folder may be missing too).
    let dir = path.dirname(path.resolve(file));
    try {
      dir = realpathSync(dir);
    } catch {
      // a folder to be created
    }
    return { real: path.join(dir, path.basename(file)) };
  }
}

function inputIdentities(input: NamedPath): { identity: Identity; name: string }[] {
  let stats: Stats;
  try {
    stats = statSync(input.path);
  } catch {
    return [];
  }
  if (!stats.isDirectory()) {
    const identity = identityOf(input.path);
    return identity ? [{ identity, name: input.path }] : [];
  }
  const found: { identity: Identity; name: string }[] = [];
  let entries: string[] = [];
  try {
    entries = readdirSync(input.path);
  } catch {
    return [];
  }
  for (const entry of entries) {
    const file = path.join(input.path, entry);
    const identity = identityOf(file);
    if (identity) found.push({ identity, name: file });
  }
  return found;
}

const same = (a: Identity, b: Identity): boolean => (a.inode !== undefined && a.inode === b.inode) || a.real === b.real;

/**
 * Refuses, before any work, outputs that would replace an input or each other, and outputs that are folders.
 * Undefined paths are skipped, so callers can pass optional options as they are.
 */
export function checkOutputs(outputs: (NamedPath | undefined)[], inputs: (NamedPath | undefined)[]): void {
  const outs = outputs.filter((o): o is NamedPath => o !== undefined);
  const ins = inputs.filter((i): i is NamedPath => i !== undefined).flatMap((i) => inputIdentities(i).map((x) => ({ ...x, label: i.label })));
  const seen: { identity: Identity; label: string }[] = [];
  for (const out of outs) {
    let stats: Stats | undefined;
    try {
      stats = statSync(out.path);
    } catch {
      stats = undefined;
    }
    if (stats?.isDirectory()) throw new UserFileError(`${out.label} ${out.path} is a folder: name a file inside it`);
    const identity = identityOf(out.path)!;
    const input = ins.find((i) => same(i.identity, identity));
    if (input) {
      const alias = path.resolve(input.name) === path.resolve(out.path) ? '' : ` (the same file as ${input.name})`;
      throw new UserFileError(`${out.label} ${out.path} is an input of this run${alias} — the ${input.label}. Writing it would destroy it: choose another file.`);
    }
    const other = seen.find((s) => same(s.identity, identity));
    if (other) throw new UserFileError(`${out.label} ${out.path} is also the ${other.label} output: give each output its own file`);
    seen.push({ identity, label: out.label });
  }
}

/** A file being written: bytes go to a temporary sibling, which replaces the target on `commit`. */
export class AtomicFile {
  private fd: number | undefined;
  private readonly temp: string;
  private position = 0;

  private constructor(readonly target: string) {
    const dir = path.dirname(path.resolve(target));
    try {
      mkdirSync(dir, { recursive: true });
    } catch (err) {
      throw fileError(err, dir, 'create the folder');
    }
    try {
      if (statSync(target).isDirectory()) throw new UserFileError(`${target} is a folder: name a file inside it`);
    } catch (err) {
      if (err instanceof UserFileError) throw err;
    }
    removeStaleTemps(dir, path.basename(target));
    this.temp = path.join(dir, `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    try {
      this.fd = openSync(this.temp, 'wx');
    } catch (err) {
      throw fileError(err, target, 'write');
    }
  }

  static open(target: string): AtomicFile {
    return new AtomicFile(target);
  }

  write(data: Uint8Array | string): void {
    if (this.fd === undefined) throw new Error(`${this.target}: written after commit or abort`);
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    try {
      let done = 0;
      while (done < bytes.byteLength) done += writeSync(this.fd, bytes, done, bytes.byteLength - done, this.position + done);
      this.position += bytes.byteLength;
    } catch (err) {
      this.abort();
      throw fileError(err, this.target, 'write');
    }
  }

  /** Makes the file whole on disk, then puts it in place of the target. */
  commit(): void {
    if (this.fd === undefined) throw new Error(`${this.target}: committed twice`);
    try {
      fsyncSync(this.fd);
      closeSync(this.fd);
      this.fd = undefined;
      renameSync(this.temp, this.target);
    } catch (err) {
      this.abort();
      throw fileError(err, this.target, 'write');
    }
  }

  /** Drops what was written; the target is left as it was. */
  abort(): void {
    if (this.fd !== undefined) {
      try {
        closeSync(this.fd);
      } catch {
        // already closed by the failure being handled
      }
      this.fd = undefined;
    }
    rmSync(this.temp, { force: true });
  }
}

/** Temp files of this target left by a writer that was killed (its process is gone) are removed. */
function removeStaleTemps(dir: string, base: string): void {
  const prefix = `.${base}.`;
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return;
  }
  for (const entry of entries) {
    const m = entry.startsWith(prefix) ? /^(\d+)\.[0-9a-f]{8}\.tmp$/.exec(entry.slice(prefix.length)) : null;
    if (!m || isAlive(Number(m[1]))) continue;
    rmSync(path.join(dir, entry), { force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Writes a whole file atomically (see AtomicFile). */
export function writeFileAtomic(target: string, data: Uint8Array | string): void {
  const file = AtomicFile.open(target);
  file.write(data);
  file.commit();
}
