import { intOption, numberOption, UsageError } from '../args';
import type { CliCommand } from '../command';
import { readPersonaVector } from '../../core/vectors/personaVectorFile';
import { preventativeSteeringFiles, writePreventativeSteering } from '../../core/finetuning/preventativeSteering';
import { checkOutputs, requireInputFile } from '../../core/io/userFiles';

export const exportSteeringCommand: CliCommand = {
  name: 'export-steering',
  summary: 'Write a PyTorch module (persona_steering.py + vector) that applies preventative steering while a trainer runs',
  usage: 'persona-lens export-steering --vector VEC.safetensors --out DIR [--layer N] [--coef A] [--mode add|ablate] [--overwrite]',
  options: [
    { name: 'vector', kind: 'string', description: 'Persona Lens vector file', required: true },
    { name: 'out', kind: 'string', description: 'folder to write persona_steering.py and the vector into', required: true },
    { name: 'layer', kind: 'string', description: 'residual row to steer (default: the vector\'s recommended layer)' },
    { name: 'coef', kind: 'string', description: 'coefficient α added while training (default: the recommended coefficient)' },
    { name: 'mode', kind: 'string', description: 'add (preventative steering, default) or ablate (CAFT)' },
    { name: 'overwrite', kind: 'flag', description: 'replace existing files in --out' },
  ],
  async run(args, io) {
    const file = String(args.options.vector);
    requireInputFile(file, '--vector');
    const pv = readPersonaVector(file);
    const outDir = String(args.options.out);
    checkOutputs(preventativeSteeringFiles(outDir, String(pv.metadata.trait ?? 'persona')).map((p) => ({ label: '--out', path: p })), [{ label: '--vector file', path: file }]);
    const layer = args.options.layer !== undefined ? intOption(args, 'layer', 0) : (pv.metadata.recommendedLayer as number | undefined);
    const mode = String(args.options.mode ?? 'add');
    if (mode !== 'add' && mode !== 'ablate') throw new UsageError('--mode must be add or ablate');
    // Ablation (CAFT) has no coefficient.
    const coefficient = args.options.coef !== undefined ? numberOption(args, 'coef', 0) : mode === 'ablate' ? 0 : (pv.metadata.recommendedCoefficient as number | undefined);
    if (layer === undefined || coefficient === undefined) throw new UsageError(`${file} records no recommended layer/coefficient (extracted without a sweep): pass --layer and --coef`);
    const trait = String(pv.metadata.trait ?? 'persona');
    const written = writePreventativeSteering(
      outDir,
      { trait, vector: pv.vectors.response_avg!, rows: pv.rows, d: pv.d, layers: [layer], coefficient, mode, source: `extracted from ${pv.metadata.model ?? 'unknown model'} (${pv.metadata.modelFingerprint ?? 'no fingerprint'})` },
      Boolean(args.options.overwrite),
    );
    io.out(`wrote ${written.modulePath} and ${written.vectorPath}: ${mode} ${mode === 'add' ? `α = ${coefficient} ` : ''}at row ${layer} (decoder layer ${layer - 1}) while training`);
    return 0;
  },
};
