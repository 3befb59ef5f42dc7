/** The shape of a CLI subcommand. */
import type { OptionSpec, ParsedArgs } from './args';

/** Exit codes: 0 done, 1 failed or a gate tripped, 2 bad usage, 3 a score or activation was not finite. */
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
export const EXIT_NOT_FINITE = 3;

export interface CliIO {
  out(line: string): void;
  err(line: string): void;
  signal: AbortSignal;
}

export interface CliCommand {
  name: string;
  summary: string;
  usage: string;
  options: OptionSpec[];
  run(args: ParsedArgs, io: CliIO): Promise<number>;
}
