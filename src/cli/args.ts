/**
 * Strict argument parsing for the CLI: --name value, --name=value, --flag, positionals. Unknown and repeated options
 * are errors. Not node:util's parseArgs: it refuses `--coef -4` ("argument is ambiguous"), and negative
 * coefficients are the everyday way to steer away from a trait.
 */
export interface OptionSpec {
  name: string;
  /** 'string' takes a value; 'flag' does not. */
  kind: 'string' | 'flag';
  description: string;
  required?: boolean;
}

export interface ParsedArgs {
  options: Record<string, string | boolean>;
  positionals: string[];
}

export class UsageError extends Error {}

export function parseArgs(argv: string[], specs: OptionSpec[]): ParsedArgs {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const options: Record<string, string | boolean> = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq >= 0 ? eq : undefined);
    const spec = byName.get(name);
    if (!spec) throw new UsageError(`Unknown option --${name}`);
    if (options[name] !== undefined) throw new UsageError(`--${name} is given twice`);
    if (spec.kind === 'flag') {
      options[name] = true;
    } else {
      const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined) throw new UsageError(`--${name} needs a value`);
      options[name] = value;
    }
  }
  for (const spec of specs) if (spec.required && options[spec.name] === undefined) throw new UsageError(`--${spec.name} is required`);
  return { options, positionals };
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

const parseNumber = (raw: string | boolean): number => (typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN);

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

export function formatOptions(specs: OptionSpec[]): string {
  return specs.map((s) => `  --${s.name}${s.kind === 'string' ? ' VALUE' : ''}`.padEnd(26) + s.description + (s.required ? ' (required)' : '')).join('\n');
}
