import { intOption } from '../args';
import { cliContext, type CliCommand } from '../command';
import { runSelfCheck } from '../../core/selfCheck';
import { resolveDevice } from '../../core/onnx/devices';
import { deviceOption } from '../modelOptions';

export const selfCheckCommand: CliCommand = {
  name: 'self-check',
  summary: 'Build and run a small ONNX graph on onnxruntime-node and check the result',
  usage: 'persona-lens self-check [--runs N] [--size N] [--device auto|cpu|webgpu|cuda|dml|coreml]',
  options: [
    { name: 'runs', kind: 'string', description: 'how many runs (default 3)' },
    { name: 'size', kind: 'string', description: 'matrix size (default 256)' },
    { name: 'device', kind: 'string', description: 'where to run it (default cpu; auto says what it would pick and why)' },
  ],
  async run(args, io) {
    const runs = intOption(args, 'runs', 3);
    const size = intOption(args, 'size', 256);
    const device = await resolveDevice(deviceOption(args) ?? 'cpu');
    if (device.reason !== 'cpu chosen') io.out(`device: ${device.device} (${device.reason})`);
    const result = await runSelfCheck({ runs, size }, cliContext(io), device.device);
    io.out(`onnxruntime ${result.onnxruntime} on ${result.device}: ${result.runs} runs of a ${result.depth}-deep ${result.size}×${result.size} MatMul chain`);
    io.out(`max abs error ${result.maxAbsError.toExponential(2)}, ${result.msPerRun.toFixed(2)} ms/run, ${result.gflops.toFixed(1)} GFLOP/s`);
    io.out('self-check passed');
    return 0;
  },
};
