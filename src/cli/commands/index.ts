/** Every CLI subcommand; `persona-lens --help` lists them in this order. */
import type { CliCommand } from '../command';
import { selfCheckCommand } from './selfCheck';
import { activationsCommand } from './activations';
import { generateCommand } from './generate';
import { extractCommand } from './extract';
import { screenCommand } from './screen';
import { demoCommand } from './demo';
import { exportGgufCommand, importGgufCommand } from './controlVectors';

export const COMMANDS: CliCommand[] = [activationsCommand, demoCommand, extractCommand, exportGgufCommand, generateCommand, importGgufCommand, screenCommand, selfCheckCommand];
