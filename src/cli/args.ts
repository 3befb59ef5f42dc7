/**
 * The CLI's arguments, parsed by node:util's parseArgs (strict: unknown options and misplaced values are errors).
 *
 * One normalisation comes first: a string option takes the next token as its value whatever it looks like, so
 * `--coef -4`, `--prompt -h` and `--prompt --help` give the option those values. parseArgs alone refuses them
 * ("argument is ambiguous"), and a negative coefficient is the everyday way to steer away from a trait. The
 * normaliser only rewrites `--name value` to `--name=value`; after `--` every token is a positional.
 */
import { parseArgs as parseArgv, type ParseArgsConfig } from 'node:util';

export interface OptionSpec {
  name: string;
  /** 'string' takes a value; 'flag' does not. */
  kind: 'string' | 'flag';
  description: string;
  required?: boolean;
  /** May be given more than once (a string option's values are then a list); otherwise a repeat is an error. */
  multiple?: boolean;
}

export interface ParsedArgs {
  options: Record<string, string | boolean | string[]>;
  positionals: string[];
  /** --help or -h was given (as an option, not as an option's value). */
  help?: boolean;
}

export class UsageError extends Error {}

const HELP: OptionSpec = { name: 'help', kind: 'flag', description: 'show this help' };

function config(specs: OptionSpec[]): NonNullable<ParseArgsConfig['options']> {
  const options: NonNullable<ParseArgsConfig['options']> = { help: { type: 'boolean', short: 'h' } };
  for (const s of specs) options[s.name] = { type: s.kind === 'string' ? 'string' : 'boolean', multiple: Boolean(s.multiple) };
  return options;
}

/** `--name value` → `--name=value` for every string option, up to `--`. */
export function normaliseArgv(argv: string[], specs: OptionSpec[]): string[] {
  const strings = new Set(specs.filter((s) => s.kind === 'string').map((s) => s.name));
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') return [...out, ...argv.slice(i)];
    if (arg.startsWith('--') && !arg.includes('=') && strings.has(arg.slice(2)) && i + 1 < argv.length) out.push(`${arg}=${argv[++i]}`);
    else out.push(arg);
  }
  return out;
}

/** `positionals: false` for a command that takes options only: a stray word is then an error, not ignored. */
export function parseArgs(argv: string[], specs: OptionSpec[], { positionals = true } = {}): ParsedArgs {
  const args = normaliseArgv(argv, specs);
  const options = config(specs);
  const parsed = (() => {
    try {
      return parseArgv({ args, options, strict: true, allowPositionals: positionals, tokens: true });
    } catch (err) {
      throw usageErrorFor(err as Error & { code?: string }, args, specs);
    }
  })();
  const byName = new Map(specs.map((s) => [s.name, s]));
  const seen = new Set<string>();
  for (const token of parsed.tokens) {
    if (token.kind !== 'option' || token.name === 'help') continue;
    if (seen.has(token.name) && !byName.get(token.name)?.multiple) throw new UsageError(`--${token.name} is given twice`);
    seen.add(token.name);
  }
  const { help, ...values } = parsed.values as Record<string, string | boolean | string[]>;
  if (!help) for (const spec of specs) if (spec.required && values[spec.name] === undefined) throw new UsageError(`--${spec.name} is required`);
  return { options: values, positionals: parsed.positionals, help: Boolean(help) };
}

/** parseArgs's error, said in terms of our options: which one, and what to do. */
function usageErrorFor(err: Error & { code?: string }, args: string[], specs: OptionSpec[]): Error {
  if (!err.code?.startsWith('ERR_PARSE_ARGS_')) return err;
  // The lenient pass names the token parseArgs refused.
  const { tokens } = parseArgv({ args, options: config(specs), strict: false, allowPositionals: true, tokens: true });
  const byName = new Map(specs.map((s) => [s.name, s]));
  for (const token of tokens) {
    if (token.kind === 'positional' && err.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') return new UsageError(`unexpected argument "${token.value}": this command takes options only (quote a value that has spaces)`);
    if (token.kind !== 'option' || token.name === 'help') continue;
    const spec = byName.get(token.name);
    if (!spec) {
      const suggestion = closestOption(token.name, specs);
      const hint = suggestion ? ` (did you mean --${suggestion}?)` : '';
      const positional = token.rawName.startsWith('--') ? '' : `; a positional that starts with "-" goes after --, as in -- ${token.rawName}`;
      return new UsageError(`Unknown option ${token.rawName}${hint}${positional}`);
    }
    if (spec.kind === 'flag' && token.value !== undefined) return new UsageError(`--${spec.name} takes no value (got ${token.rawName}=${token.value})`);
    if (spec.kind === 'string' && token.value === undefined) return new UsageError(`--${spec.name} needs a value`);
  }
  return new UsageError(err.message);
}

/** The option within two edits of `name` (or with it as a prefix), when exactly one is closest. */
export function closestOption(name: string, specs: OptionSpec[]): string | undefined {
  const scored = specs.map((s) => ({ name: s.name, distance: s.name.startsWith(name) && name.length >= 3 ? 1 : editDistance(name, s.name) })).filter((s) => s.distance <= 2);
  const best = Math.min(...scored.map((s) => s.distance));
  const closest = scored.filter((s) => s.distance === best);
  return closest.length === 1 ? closest[0].name : undefined;
}

function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length];
}

/** Inclusive bounds of a numeric option; `above` is an exclusive lower bound (e.g. temperature-like values > 0). */
export interface Range {
  min?: number;
  max?: number;
  above?: number;
}

function checkRange(name: string, value: number, range: Range): number {
  const { min, max, above } = range;
  const bounds = [above !== undefined ? `> ${above}` : min !== undefined ? `≥ ${min}` : '', max !== undefined ? `≤ ${max}` : ''].filter(Boolean).join(' and ');
  if ((min !== undefined && value < min) || (max !== undefined && value > max) || (above !== undefined && value <= above)) throw new UsageError(`--${name} must be ${bounds} (got ${value})`);
  return value;
}

const parseNumber = (raw: unknown): number => (typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN);

export function intOption(args: ParsedArgs, name: string, fallback: number, range: Range = {}): number {
  const raw = args.options[name];
  if (raw === undefined) return fallback;
  const value = parseNumber(raw);
  if (!Number.isSafeInteger(value)) throw new UsageError(`--${name} must be an integer (got ${String(raw)})`);
  return checkRange(name, value, range);
}

export function numberOption(args: ParsedArgs, name: string, fallback: number, range: Range = {}): number {
  const raw = args.options[name];
  if (raw === undefined) return fallback;
  const value = parseNumber(raw);
  if (!Number.isFinite(value)) throw new UsageError(`--${name} must be a number (got ${String(raw)})`);
  return checkRange(name, value, range);
}

/** A comma-separated list of numbers (undefined when the option is absent). */
export function numberListOption(args: ParsedArgs, name: string, options: { integer?: boolean } & Range = {}): number[] | undefined {
  const raw = args.options[name];
  if (raw === undefined) return undefined;
  const values = String(raw).split(',').map(parseNumber);
  if (values.length === 0 || values.some((v) => (options.integer ? !Number.isSafeInteger(v) : !Number.isFinite(v)))) throw new UsageError(`--${name} must be a comma-separated list of ${options.integer ? 'integers' : 'numbers'} (got ${String(raw)})`);
  for (const v of values) checkRange(name, v, options);
  return values;
}

/** A string option's value, or undefined. */
export function stringOption(args: ParsedArgs, name: string): string | undefined {
  const raw = args.options[name];
  return raw === undefined ? undefined : String(raw);
}

/** The options as two aligned columns (formatColumns), with --help last. */
export function formatOptions(specs: OptionSpec[], width = 100): string {
  return formatColumns(
    [...specs, HELP].map((s) => ({ left: `--${s.name}${s.kind === 'string' ? ' VALUE' : ''}`, text: s.description + (s.required ? ' (required)' : '') + (s.multiple ? ' (repeatable)' : '') })),
    width,
  );
}

/**
 * Two aligned columns indented by two spaces (the widest left entry sets the second); a long text wraps at `width`
 * with its continuation lines under the text column.
 */
export function formatColumns(rows: { left: string; text: string }[], width = 100): string {
  const column = Math.max(...rows.map((r) => r.left.length)) + 4;
  const room = Math.max(width - column, 30);
  return rows.map((r) => wrap(r.text, room).map((line, i) => (i === 0 ? `  ${r.left}`.padEnd(column) : ' '.repeat(column)) + line).join('\n')).join('\n');
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return [...lines, line];
}
