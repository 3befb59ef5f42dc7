/** The shape of a CLI subcommand. */
import type { OptionSpec, ParsedArgs } from './args';
import { runContext, type RunContext } from '../core/cancellation';

/**
 * Exit codes: 0 done, 1 failed or a gate tripped, 2 bad usage, 3 a score or activation was not finite, 130 stopped
 * by Ctrl+C (128 + SIGINT, what a shell reports for a process the signal ended).
 */
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
export const EXIT_NOT_FINITE = 3;
export const EXIT_INTERRUPTED = 130;

export interface CliIO {
  out(line: string): void;
  err(line: string): void;
  /** A long step's progress (the live line on stderr); absent in tests that do not watch it. */
  progress?(done: number, total: number, message?: string): void;
  signal: AbortSignal;
}

/** The RunContext a command hands to core: cancelled by Ctrl+C, progress to the live line, log lines to stderr. */
export function cliContext(io: CliIO): RunContext {
  return runContext(io.signal, (done, total, message) => io.progress?.(done, total, message), (line) => io.err(line));
}

export interface CliCommand {
  name: string;
  summary: string;
  usage: string;
  options: OptionSpec[];
  /** Takes words besides options (a dataset, a vector file); otherwise a stray word is a usage error. */
  positionals?: boolean;
  run(args: ParsedArgs, io: CliIO): Promise<number>;
}
