/**
 * The inference operations the CLI and the engine process expose: residual-stream activations of a text, and
 * generation. Both take the same steering request.
 */
import type { RunContext } from '../cancellation';
import type { LoadedModel } from './loadedModel';
import { buildRowIntervention, type SteerPositions } from './steering';
import { generate, type FinishReason } from './generate';
import type { ChatMessage } from './tokenizer';
import { readSteeringVector, vectorForLayer } from '../vectors/vectorFile';
import type { SamplingOptions } from './sampling';

export interface SteerRequest {
  /** Path of a safetensors vector file ([d] or [layers+1, d]). */
  vectorPath: string;
  /** Residual row: the vector is added to the output of block `layer` (0 = embeddings). */
  layer: number;
  coefficient: number;
  mode?: 'add' | 'ablate';
  positions?: SteerPositions;
}

function interventionFor(model: LoadedModel, steer?: SteerRequest) {
  if (!steer) return undefined;
  const { hiddenSize: d, numLayers } = model.checkpoint.spec;
  const vector = vectorForLayer(readSteeringVector(steer.vectorPath), steer.layer, numLayers + 1, d, steer.vectorPath);
  return buildRowIntervention([{ vector, rows: [steer.layer], coefficient: steer.coefficient, mode: steer.mode }], numLayers + 1, d);
}

export interface ActivationsRequest {
  text: string;
  /** Format as one user turn through the chat template, with the generation prompt. */
  chat?: boolean;
  steer?: SteerRequest;
}

export interface ActivationsResult {
  inputIds: number[];
  /** [layers+1, seq, d] */
  hiddenStates: Float32Array;
  rows: number;
  seq: number;
  d: number;
}

export async function computeActivations(model: LoadedModel, request: ActivationsRequest): Promise<ActivationsResult> {
  const { tokenizer, session } = model;
  const inputIds = request.chat ? tokenizer.chat([{ role: 'user', content: request.text }], true) : tokenizer.encode(request.text);
  if (inputIds.length === 0) throw new RangeError('the text produced no tokens');
  const rows = session.rows;
  const d = model.checkpoint.spec.hiddenSize;
  const iv = interventionFor(model, request.steer);
  const out = await session.forward({
    tokens: [inputIds],
    captureRows: Array.from({ length: rows }, (_, r) => r),
    logits: 'none',
    intervention: iv && (iv.add || iv.ablate) ? { add: [iv.add], ablate: [iv.ablate] } : undefined,
  });
  const seq = inputIds.length;
  const hiddenStates = new Float32Array(rows * seq * d);
  for (let r = 0; r < rows; r++) hiddenStates.set(out.hidden.get(r)!, r * seq * d);
  return { inputIds, hiddenStates, rows, seq, d };
}

export interface GenerateTextRequest {
  prompt: string;
  system?: string;
  /** Format through the chat template (default: when the tokenizer has one). */
  chat?: boolean;
  maxTokens?: number;
  sampling?: SamplingOptions;
  stopStrings?: string[];
  steer?: SteerRequest;
}

export interface GenerateTextResult {
  text: string;
  tokens: number[];
  finishReason: FinishReason;
  promptTokens: number;
}

export async function generateText(model: LoadedModel, request: GenerateTextRequest, ctx?: RunContext): Promise<GenerateTextResult> {
  const { tokenizer } = model;
  const useChat = request.chat ?? tokenizer.hasChatTemplate;
  const messages: ChatMessage[] = [...(request.system ? [{ role: 'system' as const, content: request.system }] : []), { role: 'user', content: request.prompt }];
  const prompt = useChat ? tokenizer.chat(messages, true) : tokenizer.encode(request.system ? `${request.system}\n\n${request.prompt}` : request.prompt);
  const iv = interventionFor(model, request.steer);
  const result = await generate(
    model.session,
    tokenizer,
    {
      prompts: [prompt],
      maxTokens: request.maxTokens ?? 64,
      sampling: request.sampling,
      eosTokenIds: model.eosTokenIds,
      stopStrings: request.stopStrings,
      interventions: iv ? [iv] : undefined,
      positions: request.steer?.positions,
    },
    ctx,
  );
  return { text: result.texts[0], tokens: result.tokens[0], finishReason: result.finishReasons[0], promptTokens: prompt.length };
}
