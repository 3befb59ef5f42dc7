import { checkOutputs, requireInputFile, writeFileAtomic } from '../../core/io/userFiles';
import { intOption, UsageError } from '../args';
import { cliContext, type CliCommand } from '../command';
import { MODEL_OPTIONS, loadOptions, modelInputs } from '../modelOptions';
import { loadModel } from '../../core/model/loadedModel';
import { createJudge } from '../../core/judges/judgeFactory';
import { JUDGE_OPTIONS, JUDGE_IDS, checkEndpointOptions, judgeSpecFromArgs } from '../judgeOptions';
import { measureFinetuningShift } from '../../core/finetuning/finetuningShift';
import { formatShiftReport } from '../../core/finetuning/shiftReport';

export const shiftCommand: CliCommand = {
  name: 'shift',
  summary: 'Measure how far a fine-tune moved the model along persona vectors (finetuning shift), with a random control and judged scores',
  usage: 'persona-lens shift --base DIR (--tuned DIR | --adapter DIR) --vector VEC.safetensors[,…] [--layer N] [--judge ID|none] [--questions N] [--max-tokens N] [--json OUT]',
  options: [
    { name: 'base', kind: 'string', description: 'the base checkpoint folder', required: true },
    { name: 'tuned', kind: 'string', description: 'the fine-tuned checkpoint folder' },
    { name: 'adapter', kind: 'string', description: 'or a PEFT LoRA adapter folder, merged onto --base' },
    { name: 'vector', kind: 'string', description: 'vector file(s), comma-separated', required: true },
    { name: 'layer', kind: 'string', description: 'read this row instead of each vector\'s recommended layer' },
    { name: 'traits', kind: 'string', description: 'folder with <trait>.json definitions (default: the base\'s traits/, then built-ins)' },
    { name: 'judge', kind: 'string', description: `judge for trait scores (default: the trait's "judge"): ${JUDGE_IDS.replace(', self', '')}, or none to skip` },
    ...JUDGE_OPTIONS.filter((o) => o.name !== 'judge'),
    { name: 'questions', kind: 'string', description: 'evaluation questions per trait (default all)' },
    { name: 'max-tokens', kind: 'string', description: 'tokens per judged answer (default 64)' },
    { name: 'json', kind: 'string', description: 'also write the full report (per-layer curves, samples) as JSON' },
    // --cache-dir and --threads as every model command has them (--base/--tuned replace --model).
    ...MODEL_OPTIONS.filter((o) => o.name !== 'model'),
  ],
  async run(args, io) {
    const tunedDir = args.options.tuned as string | undefined;
    const adapter = args.options.adapter as string | undefined;
    if (!tunedDir === !adapter) throw new UsageError('give exactly one of --tuned DIR (full checkpoint) or --adapter DIR (LoRA adapter)');
    const judgeId = args.options.judge as string | undefined;
    // Checked before any model loads. Without --judge, each trait's own judge is built below with the same options
    // (a trait whose judge is "openai" takes --judge-url / --judge-model, as in extract; any other refuses them).
    if (judgeId !== undefined) checkEndpointOptions(args, judgeId);
    const judgeSpec = judgeId !== undefined && judgeId !== 'none' ? judgeSpecFromArgs(args, judgeId) : undefined;
    if (judgeSpec?.kind === 'self') throw new UsageError('--judge self is not available for shift: the two models would judge themselves differently; use openai or lexicon');
    const basePath = String(args.options.base);
    const vectorPaths = String(args.options.vector).split(',').map((f) => f.trim());
    for (const f of vectorPaths) requireInputFile(f, '--vector');
    const json = args.options.json !== undefined ? String(args.options.json) : undefined;
    checkOutputs(
      [json !== undefined ? { label: '--json', path: json } : undefined],
      [...modelInputs(args, 'base'), ...modelInputs(args, tunedDir ? 'tuned' : 'adapter'), ...vectorPaths.map((f) => ({ label: '--vector file', path: f }))],
    );
    const options = loadOptions(args, io);
    const report = await measureFinetuningShift(
      {
        basePath,
        tuned: tunedDir ? { modelPath: tunedDir } : { adapterPath: adapter! },
        vectorPaths,
        layer: args.options.layer !== undefined ? intOption(args, 'layer', 0, { min: 0 }) : undefined,
        traitFolders: args.options.traits !== undefined ? [String(args.options.traits)] : [],
        profile: {
          questions: args.options.questions !== undefined ? intOption(args, 'questions', 20, { min: 1 }) : undefined,
          maxTokens: intOption(args, 'max-tokens', 64, { min: 1, max: 1 << 16 }),
        },
      },
      {
        load: (side) => loadModel(side.modelPath, { ...options, adapter: side.adapterPath }),
        release: (model) => model.session.release(),
        judgeFor: (trait) => {
          const id = judgeId ?? trait.judge;
          if (id === 'none') return { unavailable: 'judging skipped (--judge none)' };
          if (!id) return { unavailable: `trait ${trait.name} names no local judge: pass --judge ID for scores` };
          try {
            return createJudge(judgeSpec ?? judgeSpecFromArgs({ ...args, options: { ...args.options, judge: id } }, id), { modelPath: basePath });
          } catch (err) {
            // A usage error (e.g. a trait naming an unknown judge) stops the command as it does elsewhere (exit 2);
            // a judge that cannot be built here (no lexicon data) leaves that trait unscored.
            if (err instanceof UsageError) throw err;
            return { unavailable: (err as Error).message };
          }
        },
      },
      cliContext(io),
    );
    for (const line of formatShiftReport(report)) io.out(line);
    if (json !== undefined) {
      writeFileAtomic(json, JSON.stringify(report, null, 2));
      io.out(`wrote ${json}`);
    }
    return 0;
  },
};
