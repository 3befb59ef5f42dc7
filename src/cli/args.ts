/** Minimal, strict argument parsing for the CLI: --name value, --flag, positionals. Unknown options are errors. */
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

export function intOption(args: ParsedArgs, name: string, fallback: number): number {
  const raw = args.options[name];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value)) throw new UsageError(`--${name} must be an integer (got ${String(raw)})`);
  return value;
}

export function numberOption(args: ParsedArgs, name: string, fallback: number): number {
  const raw = args.options[name];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value)) throw new UsageError(`--${name} must be a number (got ${String(raw)})`);
  return value;
}

export function formatOptions(specs: OptionSpec[]): string {
  return specs.map((s) => `  --${s.name}${s.kind === 'string' ? ' VALUE' : ''}`.padEnd(26) + s.description + (s.required ? ' (required)' : '')).join('\n');
}
