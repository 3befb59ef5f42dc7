/** Export to and import from llama.cpp control vectors (GGUF), so vectors work in llama.cpp and Ollama. */
import { numberListOption, numberOption, UsageError } from '../args';
import type { CliCommand } from '../command';
import { readPersonaVector } from '../../core/vectors/personaVectorFile';
import { checkControlVectorFits, exportControlVector, importControlVector } from '../../core/vectors/controlVector';
import { openModel } from '../../core/model/openModel';
import { writeSafetensors } from '../../core/model/safetensors';
import { checkOutputs, requireInputFile } from '../../core/io/userFiles';

export const exportGgufCommand: CliCommand = {
  name: 'export-gguf',
  summary: 'Write a vector as a llama.cpp control vector (GGUF: direction.N steers the output of block N+1 … as llama.cpp applies it)',
  usage: 'persona-lens export-gguf VEC.safetensors --out FILE.gguf [--layers 10,11,12] [--coef A]',
  positionals: true,
  options: [
    { name: 'out', kind: 'string', description: 'GGUF file to write', required: true },
    { name: 'layers', kind: 'string', description: 'our rows to export (default: all exportable, 2 … L)' },
    { name: 'coef', kind: 'string', description: 'scale the directions by α (llama.cpp also scales at load)' },
  ],
  async run(args, io) {
    const [input] = args.positionals;
    if (!input) throw new UsageError('name the vector file to export');
    if (args.positionals.length > 1) throw new UsageError(`one vector file at a time (got ${args.positionals.length})`);
    const coef = numberOption(args, 'coef', 1);
    const layers = numberListOption(args, 'layers', { integer: true, min: 0 });
    requireInputFile(input, 'vector');
    checkOutputs([{ label: '--out', path: String(args.options.out) }], [{ label: 'vector file', path: input }]);
    const vector = readPersonaVector(input);
    const data = vector.vectors.response_avg!.map((x) => x * coef);
    const written = exportControlVector(String(args.options.out), data, vector.rows, vector.d, String(vector.metadata.architecture ?? 'unknown'), { layers });
    io.out(`wrote ${args.options.out}: ${written.length} directions (rows ${written[0]}…${written.at(-1)}), model hint ${vector.metadata.architecture}`);
    return 0;
  },
};

export const importGgufCommand: CliCommand = {
  name: 'import-gguf',
  summary: 'Read a llama.cpp / repeng control vector (GGUF) into a steering vector for a model, checking its dimensions',
  usage: 'persona-lens import-gguf FILE.gguf --model MODEL --out VEC.safetensors',
  positionals: true,
  options: [
    { name: 'model', kind: 'string', description: 'the model it will steer (dimensions are checked)', required: true },
    { name: 'out', kind: 'string', description: 'steering vector to write ([layers+1, d] F32)', required: true },
  ],
  async run(args, io) {
    const [input] = args.positionals;
    if (!input) throw new UsageError('name the GGUF file to import');
    if (args.positionals.length > 1) throw new UsageError(`one GGUF file at a time (got ${args.positionals.length})`);
    const out = String(args.options.out);
    if (!out.endsWith('.safetensors')) throw new UsageError('--out must end with .safetensors');
    requireInputFile(input, 'GGUF file');
    checkOutputs([{ label: '--out', path: out }], [{ label: 'GGUF file', path: input }, { label: '--model checkpoint', path: String(args.options.model) }]);
    const { spec } = await openModel(String(args.options.model));
    const imported = await importControlVector(input);
    // llama.cpp writes the architecture it extracted on; another one's directions mean nothing here.
    if (imported.modelHint && imported.modelHint !== spec.architecture) io.err(`warning: ${input} names model_hint "${imported.modelHint}", but ${args.options.model} is a ${spec.architecture} model: the directions are unlikely to mean anything here`);
    const vector = checkControlVectorFits(imported, spec.numLayers + 1, spec.hiddenSize);
    writeSafetensors(out, [{ name: 'direction', dtype: 'F32', shape: [spec.numLayers + 1, spec.hiddenSize], data: vector }], { source: input, model_hint: imported.modelHint });
    io.out(`wrote ${args.options.out}: [${spec.numLayers + 1}, ${spec.hiddenSize}] from ${imported.layerCount} directions (hint ${imported.modelHint})`);
    return 0;
  },
};
