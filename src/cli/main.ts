/** `persona-lens`: the headless CLI over src/core. */
import { COMMANDS } from './commands/index';
import { EXIT_FAILED, EXIT_INTERRUPTED, EXIT_NOT_FINITE, EXIT_USAGE, type CliIO } from './command';
import { NonFiniteActivationError } from '../core/model/decoderSession';
import { formatColumns, formatOptions, parseArgs, UsageError } from './args';
import { ProgressLine } from './progressLine';
import { VERSION } from '../core/version';

function help(): string {
  return [
    `persona-lens ${VERSION} — persona vectors for local language models`,
    '',
    'Usage: persona-lens <command> [options]',
    '',
    'Commands:',
    formatColumns(COMMANDS.map((c) => ({ left: c.name, text: c.summary }))),
    '',
    'Run `persona-lens <command> --help` for the options of one command.',
    'Exit codes: 0 done, 1 failed (or a CI gate tripped), 2 bad usage, 3 a score was not finite, 130 stopped by Ctrl+C.',
  ].join('\n');
}

export async function main(argv: string[], io: CliIO): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.out(help());
    return 0;
  }
  if (name === '--version') {
    io.out(VERSION);
    return 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    io.err(`Unknown command "${name}".\n\n${help()}`);
    return EXIT_USAGE;
  }
  try {
    const args = parseArgs(rest, command.options, { positionals: Boolean(command.positionals) });
    if (args.help) {
      io.out(`${command.summary}\n\nUsage: ${command.usage}\n\nOptions:\n${formatOptions(command.options)}`);
      return 0;
    }
    return await command.run(args, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`${err.message}\nUsage: ${command.usage}`);
      return EXIT_USAGE;
    }
    // Whatever a cancelled step throws (CancelledError at a checkpoint, an aborted judge request) is the stop asked for.
    if (io.signal.aborted) {
      io.err(`persona-lens ${name}: stopped by Ctrl+C. Finished work is cached (rollouts, judgments, steering cells, screening scores): the same command resumes from it.`);
      return EXIT_INTERRUPTED;
    }
    io.err(`persona-lens ${name}: ${err instanceof Error ? err.message : String(err)}`);
    return err instanceof NonFiniteActivationError ? EXIT_NOT_FINITE : EXIT_FAILED;
  }
}

/**
 * Ctrl+C: the first asks the command to stop at its next checkpoint (between model runs, so caches stay whole); the
 * second exits at once. A model run in progress is native code that holds the event loop, so "at once" means as
 * soon as that run returns.
 */
export function interruptHandler(controller: AbortController, say: (line: string) => void, exit: (code: number) => void): () => void {
  return () => {
    if (controller.signal.aborted) {
      say('interrupted');
      exit(EXIT_INTERRUPTED);
      return;
    }
    say('stopping after the current batch; press Ctrl+C again to exit now');
    controller.abort();
  };
}

if (require.main === module) {
  const controller = new AbortController();
  const progress = new ProgressLine(process.stderr);
  const io: CliIO = {
    out: (line) => progress.around(() => process.stdout.write(line + '\n')),
    err: (line) => progress.line(line),
    progress: (done, total, message) => progress.update(done, total, message),
    signal: controller.signal,
  };
  process.on('SIGINT', interruptHandler(controller, io.err, (code) => process.exit(code)));
  main(process.argv.slice(2), io).then(
    (code) => {
      progress.finish();
      process.exit(code);
    },
    (err) => {
      progress.finish();
      process.stderr.write(String(err?.stack ?? err) + '\n');
      process.exit(1);
    },
  );
}
