import { UsageError } from '../args';
import type { CliCommand } from '../command';
import { MODEL_OPTIONS, STEER_OPTIONS, loadOptions, modelInputs, steerRequest } from '../modelOptions';
import { checkOutputs } from '../../core/io/userFiles';
import { loadModel } from '../../core/model/loadedModel';
import { computeActivations } from '../../core/model/inference';
import { writeSafetensors } from '../../core/model/safetensors';

export const activationsCommand: CliCommand = {
  name: 'activations',
  summary: 'Write the residual stream at every layer for a text (HF hidden_states convention)',
  usage: 'persona-lens activations --model MODEL --text STRING [--chat] --out FILE.safetensors [--steer VEC --layer L --coef A]',
  options: [
    ...MODEL_OPTIONS,
    { name: 'text', kind: 'string', description: 'the text (tokenized like HF tokenizer(text))', required: true },
    { name: 'chat', kind: 'flag', description: 'format as one user turn through the chat template, with the generation prompt' },
    { name: 'out', kind: 'string', description: 'output .safetensors: hidden_states F32 [layers+1, seq, d], input_ids I64 [seq]', required: true },
    ...STEER_OPTIONS,
  ],
  async run(args, io) {
    const out = String(args.options.out);
    if (!out.endsWith('.safetensors')) throw new UsageError('--out must end with .safetensors');
    const steer = steerRequest(args);
    checkOutputs([{ label: '--out', path: out }], [...modelInputs(args), steer && { label: '--steer vector', path: steer.vectorPath }]);
    const model = await loadModel(String(args.options.model), loadOptions(args, io));
    try {
      const result = await computeActivations(model, { text: String(args.options.text), chat: Boolean(args.options.chat), steer });
      writeSafetensors(out, [
        { name: 'hidden_states', dtype: 'F32', shape: [result.rows, result.seq, result.d], data: result.hiddenStates },
        { name: 'input_ids', dtype: 'I64', shape: [result.seq], data: BigInt64Array.from(result.inputIds.map(BigInt)) },
      ]);
      io.out(`wrote ${out}: hidden_states [${result.rows}, ${result.seq}, ${result.d}], input_ids [${result.seq}]`);
      return 0;
    } finally {
      await model.session.release();
    }
  },
};
