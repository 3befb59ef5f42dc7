import { intOption, numberListOption, numberOption, UsageError } from '../args';
import { checkOutputs, requireInputFile } from '../../core/io/userFiles';
import { cliContext, type CliCommand } from '../command';
import { MODEL_OPTIONS, loadOptions, modelInputs } from '../modelOptions';
import { loadModel } from '../../core/model/loadedModel';
import { openModel } from '../../core/model/openModel';
import { readTraitFile, traitHash } from '../../core/traits/traitFile';
import { createJudge, judgeNeedsModel } from '../../core/judges/judgeFactory';
import { JUDGE_OPTIONS, judgeSpecFromArgs } from '../judgeOptions';
import { ExtractionError, extractPersonaVector, planLayerSearch } from '../../core/extraction/extract';
import { DEFAULT_MAX_BATCH } from '../../core/extraction/steeringCells';
import { writePersonaVector } from '../../core/vectors/personaVectorFile';
import { defaultCacheRoot } from '../../core/model/weightStore';
import * as path from 'node:path';
import { formatLayerSearch, formatValidation } from '../../core/extraction/validationReport';
import { DEFAULT_STEERING_EVALUATION } from '../../core/extraction/steeringEvaluation';

export const extractCommand: CliCommand = {
  name: 'extract',
  summary: 'Extract a persona vector from a trait definition (rollouts → judge → mean difference → steering sweep)',
  usage: 'persona-lens extract --model MODEL --trait TRAIT.json --out VEC.safetensors [--judge lexicon|lexicon-file:PATH|openai|self] [--judge-url URL --judge-model NAME [--judge-concurrency N]] [--samples N] [--max-tokens N] [--trait-threshold T] [--coherence-threshold C] [--layers 1,2,…] [--coefs 1,2,4] [--sweep-questions N] [--sweep-samples N] [--sweep-temperature T] [--sweep-max-tokens N] [--search budgeted|exhaustive] [--candidate-rows N] [--budget-tokens N] [--batch N] [--no-sweep] [--no-validate]',
  options: [
    ...MODEL_OPTIONS,
    { name: 'trait', kind: 'string', description: 'trait definition file (.json)', required: true },
    { name: 'out', kind: 'string', description: 'vector file to write (.safetensors)', required: true },
    ...JUDGE_OPTIONS,
    { name: 'samples', kind: 'string', description: 'rollouts per question and instruction pair (default 1)' },
    { name: 'temperature', kind: 'string', description: 'rollout temperature (default 0 = greedy for 1 sample, 1 otherwise)' },
    { name: 'max-tokens', kind: 'string', description: 'tokens per rollout (default 128)' },
    { name: 'trait-threshold', kind: 'string', description: 'keep pairs with pos ≥ T and neg < T (default 50)' },
    { name: 'coherence-threshold', kind: 'string', description: 'keep pairs with both coherence ≥ C (default 50)' },
    { name: 'layers', kind: 'string', description: 'rows for the steering sweep (default every block)' },
    { name: 'coefs', kind: 'string', description: 'coefficients for the steering sweep (default 1,2,4)' },
    { name: 'sweep-questions', kind: 'string', description: 'evaluation questions used by the sweep (default all)' },
    { name: 'sweep-samples', kind: 'string', description: 'answers per evaluation question in the layer search (default 3)' },
    { name: 'sweep-temperature', kind: 'string', description: 'sampling temperature of the layer search (default 1; 0 = greedy, one answer)' },
    { name: 'no-sweep', kind: 'flag', description: 'skip the steering sweep (no layer recommendation)' },
    { name: 'no-validate', kind: 'flag', description: 'skip validating the recommendation (dose–response, random control, suppression)' },
    { name: 'sweep-max-tokens', kind: 'string', description: 'tokens per steered answer in the layer search and validation (default the smaller of 64 and --max-tokens)' },
    { name: 'search', kind: 'string', description: 'layer search: budgeted (default: the rows with the largest effect size, successive halving over (row, α)) or exhaustive (every row × α at the full evaluation)' },
    { name: 'candidate-rows', kind: 'string', description: 'rows the budgeted search steers, by effect size (default a quarter of the rows, at least 5)' },
    { name: 'budget-tokens', kind: 'string', description: 'cap on the layer search\'s generated tokens: fewer candidate rows until the plan fits, else exit 2 before any work' },
    { name: 'batch', kind: 'string', description: `answers generated together (rollouts, search, validation; default ${DEFAULT_MAX_BATCH})` },
  ],
  async run(args, io) {
    const out = String(args.options.out);
    if (!out.endsWith('.safetensors')) throw new UsageError('--out must end with .safetensors');
    const traitFile = String(args.options.trait);
    requireInputFile(traitFile, '--trait');
    checkOutputs([{ label: '--out', path: out }], [{ label: '--trait file', path: traitFile }, ...modelInputs(args)]);
    // Every option is read (and range-checked) before the model loads.
    const settings = {
      samplesPerQuestion: intOption(args, 'samples', 1, { min: 1, max: 100 }),
      temperature: args.options.temperature !== undefined ? numberOption(args, 'temperature', 0, { min: 0 }) : undefined,
      maxTokens: intOption(args, 'max-tokens', 128, { min: 1, max: 1 << 16 }),
      traitThreshold: numberOption(args, 'trait-threshold', 50, { min: 0, max: 100 }),
      coherenceThreshold: numberOption(args, 'coherence-threshold', 50, { min: 0, max: 100 }),
      sweep: args.options['no-sweep']
        ? (false as const)
        : {
            rows: numberListOption(args, 'layers', { integer: true, min: 1 }),
            coefficients: numberListOption(args, 'coefs', { above: 0 }),
            questions: args.options['sweep-questions'] !== undefined ? intOption(args, 'sweep-questions', 0, { min: 1 }) : undefined,
            evaluation: { samplesPerQuestion: intOption(args, 'sweep-samples', DEFAULT_STEERING_EVALUATION.samplesPerQuestion, { min: 1, max: 100 }), temperature: numberOption(args, 'sweep-temperature', DEFAULT_STEERING_EVALUATION.temperature, { min: 0 }) },
            validate: !args.options['no-validate'],
            maxTokens: args.options['sweep-max-tokens'] !== undefined ? intOption(args, 'sweep-max-tokens', 64, { min: 1, max: 1 << 16 }) : undefined,
            strategy: searchStrategyOption(args.options.search),
            candidateRows: args.options['candidate-rows'] !== undefined ? intOption(args, 'candidate-rows', 1, { min: 1 }) : undefined,
            budgetTokens: args.options['budget-tokens'] !== undefined ? intOption(args, 'budget-tokens', 1, { min: 1 }) : undefined,
          },
      batchSize: intOption(args, 'batch', DEFAULT_MAX_BATCH, { min: 1, max: 4096 }),
    };
    const trait = readTraitFile(traitFile);
    const modelDir = String(args.options.model);
    const judgeSpec = judgeSpecFromArgs(args, trait.judge ?? 'lexicon');
    // Every judge but the self-judge is built before the model loads, so a missing lexicon fails at once.
    const early = judgeNeedsModel(judgeSpec) ? undefined : createJudge(judgeSpec, { modelPath: modelDir });
    const { spec } = await openModel(modelDir);
    const badRows = settings.sweep ? (settings.sweep.rows ?? []).filter((r) => r > spec.numLayers) : [];
    if (badRows.length) throw new UsageError(`--layers ${badRows.join(', ')}: this model has rows 1–${spec.numLayers} (one per block)`);
    // A search over its --budget-tokens fails here, before the model is prepared.
    if (settings.sweep)
      try {
        planLayerSearch(settings.sweep, trait, spec.numLayers + 1, settings.maxTokens);
      } catch (e) {
        throw e instanceof ExtractionError ? new UsageError(e.message) : e;
      }
    const options = loadOptions(args, io);
    const model = await loadModel(modelDir, options);
    const judge = early ?? createJudge(judgeSpec, { modelPath: modelDir, model });
    try {
      const result = await extractPersonaVector(
        model,
        trait,
        judge,
        { cacheRoot: options.cacheRoot ?? defaultCacheRoot(), ...settings },
        cliContext(io),
      );
      writePersonaVector(out, result, {
        model: model.checkpoint.displayName,
        modelFingerprint: model.checkpoint.fingerprint,
        architecture: model.checkpoint.spec.architecture,
        traitHash: traitHash(trait),
      });
      io.out(`${trait.name}: kept ${result.keptPairs}/${result.totalPairs} pairs (judge ${result.judge})`);
      io.out('row  effect size  |v|      |h|');
      result.separation.forEach((s, r) => io.out(`${String(r).padStart(3)}  ${s.effectSize.toFixed(2).padStart(11)}  ${result.vectorNorms[r].toFixed(3).padStart(7)}  ${result.residualNorms[r].toFixed(2).padStart(7)}`));
      for (const line of formatLayerSearch(result)) io.out(line);
      for (const line of formatValidation(result.validation)) io.out(line);
      io.out(`wrote ${out}`);
      return 0;
    } finally {
      await model.session.release();
    }
  },
};

function searchStrategyOption(value: unknown): 'budgeted' | 'exhaustive' | undefined {
  if (value === undefined) return undefined;
  if (value === 'budgeted' || value === 'exhaustive') return value;
  throw new UsageError(`--search must be budgeted or exhaustive (got ${String(value)})`);
}
