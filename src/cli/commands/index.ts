/** Every CLI subcommand; `persona-lens --help` lists them in this order. */
import type { CliCommand } from '../command';
import { selfCheckCommand } from './selfCheck';
import { activationsCommand } from './activations';
import { generateCommand } from './generate';

export const COMMANDS: CliCommand[] = [activationsCommand, generateCommand, selfCheckCommand];
