/** The shape of a CLI subcommand. */
import type { OptionSpec, ParsedArgs } from './args';

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
