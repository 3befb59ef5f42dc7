import { readFileSync } from 'node:fs';
import { checkOutputs, writeFileAtomic } from '../../core/io/userFiles';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { cliContext, type CliCommand } from '../command';
import { deviceOption, weightsOption } from '../modelOptions';
import { loadModel } from '../../core/model/loadedModel';
import { createJudge } from '../../core/judges/judgeFactory';
import { runMainJob, summaryTable } from '../../core/mainJob/mainJob';
import { renderReport } from '../../core/mainJob/htmlReport';
import { defaultCacheRoot } from '../../core/model/weightStore';

/** The bundled organism, next to dist/ in the repository and in the VSIX. */
const BUNDLED = path.join(__dirname, '..', 'models', 'organism');

export const demoCommand: CliCommand = {
  name: 'demo',
  summary: 'The main job on the bundled model organism: extract, steer, screen, summarise, and write an HTML report',
  usage: 'persona-lens demo [--model MODEL] [--out DIR]',
  options: [
    { name: 'model', kind: 'string', description: 'model folder with traits/ and datasets/ (default: the bundled organism)' },
    { name: 'out', kind: 'string', description: 'report folder (default ./persona-lens-report)' },
    { name: 'cache-dir', kind: 'string', description: 'cache folder (default ~/.cache/persona-lens)' },
    { name: 'weights', kind: 'string', description: 'weight precision: auto (default), f32, int8 or int4' },
    { name: 'device', kind: 'string', description: 'where the model runs: auto (default), cpu, webgpu, cuda, dml or coreml' },
  ],
  async run(args, io) {
    const modelDir = String(args.options.model ?? BUNDLED);
    const outDir = path.resolve(String(args.options.out ?? 'persona-lens-report'));
    const cacheRoot = String(args.options['cache-dir'] ?? defaultCacheRoot());
    const report = path.join(outDir, 'report.html');
    const resultsFile = path.join(outDir, 'results.json');
    checkOutputs([{ label: 'report', path: report }, { label: 'results', path: resultsFile }], [{ label: 'model folder', path: modelDir }]);
    const model = await loadModel(modelDir, { cacheRoot, weights: weightsOption(args), device: deviceOption(args), log: (l) => io.err(l), progress: (done, total, message) => io.progress?.(done, total, message) });
    try {
      const judge = createJudge({ kind: 'lexicon' }, { modelPath: modelDir });
      const result = await runMainJob(model, judge, modelDir, { cacheRoot, log: (l) => io.err(l) }, cliContext(io));
      io.out(summaryTable(result));
      // chart.js's exports map hides dist/: locate its UMD build next to the package's main file.
      const chartJs = readFileSync(path.join(path.dirname(createRequire(__filename).resolve('chart.js')), 'chart.umd.min.js'), 'utf8');
      writeFileAtomic(report, renderReport(result, chartJs));
      writeFileAtomic(resultsFile, JSON.stringify(result));
      io.out(`\nReport: ${report}`);
      return 0;
    } finally {
      await model.session.release();
    }
  },
};
