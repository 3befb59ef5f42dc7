import { intOption } from '../args';
import { cliContext, type CliCommand } from '../command';
import { runSelfCheck } from '../../core/selfCheck';

export const selfCheckCommand: CliCommand = {
  name: 'self-check',
  summary: 'Build and run a small ONNX graph on onnxruntime-node and check the result',
  usage: 'persona-lens self-check [--runs N] [--size N]',
  options: [
    { name: 'runs', kind: 'string', description: 'how many runs (default 3)' },
    { name: 'size', kind: 'string', description: 'matrix size (default 256)' },
  ],
  async run(args, io) {
    const result = await runSelfCheck(
      { runs: intOption(args, 'runs', 3), size: intOption(args, 'size', 256) },
      cliContext(io),
    );
    io.out(`onnxruntime ${result.onnxruntime}: ${result.runs} runs of a ${result.depth}-deep ${result.size}×${result.size} MatMul chain`);
    io.out(`max abs error ${result.maxAbsError.toExponential(2)}, ${result.msPerRun.toFixed(2)} ms/run, ${result.gflops.toFixed(1)} GFLOP/s`);
    io.out('self-check passed');
    return 0;
  },
};
