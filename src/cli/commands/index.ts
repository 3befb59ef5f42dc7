/** Every CLI subcommand; `persona-lens --help` lists them in this order. */
import type { CliCommand } from '../command';
import { selfCheckCommand } from './selfCheck';
import { activationsCommand } from './activations';
import { generateCommand } from './generate';
import { extractCommand } from './extract';
import { screenCommand } from './screen';
import { shiftCommand } from './shift';
import { exportSteeringCommand } from './exportSteering';
import { demoCommand } from './demo';
import { exportGgufCommand, importGgufCommand } from './controlVectors';

export const COMMANDS: CliCommand[] = [activationsCommand, demoCommand, extractCommand, exportGgufCommand, exportSteeringCommand, generateCommand, importGgufCommand, screenCommand, selfCheckCommand, shiftCommand];
