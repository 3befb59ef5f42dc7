/** `persona-lens`: the headless CLI over src/core. */
import { COMMANDS } from './commands/index';
import { EXIT_FAILED, EXIT_NOT_FINITE, EXIT_USAGE, type CliIO } from './command';
import { NonFiniteActivationError } from '../core/model/decoderSession';
import { formatOptions, parseArgs, UsageError } from './args';
import { VERSION } from '../core/version';

function help(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  return [
    `persona-lens ${VERSION} — persona vectors for local language models`,
    '',
    'Usage: persona-lens <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    '',
    'Run `persona-lens <command> --help` for the options of one command.',
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
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(`${command.summary}\n\nUsage: ${command.usage}\n\nOptions:\n${formatOptions(command.options)}`);
    return 0;
  }
  try {
    return await command.run(parseArgs(rest, command.options), io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`${err.message}\nUsage: ${command.usage}`);
      return EXIT_USAGE;
    }
    io.err(`persona-lens ${name}: ${err instanceof Error ? err.message : String(err)}`);
    return err instanceof NonFiniteActivationError ? EXIT_NOT_FINITE : EXIT_FAILED;
  }
}

if (require.main === module) {
  const controller = new AbortController();
  process.on('SIGINT', () => controller.abort());
  main(process.argv.slice(2), {
    out: (line) => process.stdout.write(line + '\n'),
    err: (line) => process.stderr.write(line + '\n'),
    signal: controller.signal,
  }).then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(String(err?.stack ?? err) + '\n');
      process.exit(1);
    },
  );
}
