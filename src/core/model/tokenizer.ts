/**
 * Tokenizer of a local checkpoint, through transformers.js (tokenizer.json + tokenizer_config.json, chat template).
 * Loaded from local files only; hub downloads are a separate, explicit step.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { CheckpointError } from './checkpoint';
import type { TokenizerFiles } from '../gguf/ggufTokenizer';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

interface HfTokenizer {
  (text: string, options?: { add_special_tokens?: boolean }): { input_ids: { data: BigInt64Array } | number[] };
  apply_chat_template(messages: ChatMessage[], options: Record<string, unknown>): number[] | string;
  decode(ids: number[], options?: { skip_special_tokens?: boolean }): string;
  chat_template?: string | null;
}

type Transformers = typeof import('@huggingface/transformers');
type TokenizerClass = typeof import('@huggingface/transformers').PreTrainedTokenizer;

/** transformers.js `AutoTokenizer`'s choice: the exported class named by `tokenizer_class` (less "Fast"), else the base class. */
function tokenizerClass(transformers: Transformers, name: unknown): TokenizerClass {
  const exported = typeof name === 'string' ? (transformers as unknown as Record<string, unknown>)[name.replace(/Fast$/, '')] : undefined;
  const isTokenizerClass = typeof exported === 'function' && (exported === transformers.PreTrainedTokenizer || exported.prototype instanceof transformers.PreTrainedTokenizer);
  return isTokenizerClass ? (exported as TokenizerClass) : transformers.PreTrainedTokenizer;
}

export class Tokenizer {
  private constructor(private readonly hf: HfTokenizer, readonly hasChatTemplate: boolean) {}

  static async load(dir: string): Promise<Tokenizer> {
    if (!existsSync(path.join(dir, 'tokenizer.json'))) throw new CheckpointError(`${dir} has no tokenizer.json; Persona Lens needs the fast tokenizer file next to the weights.`);
    return Tokenizer.build(dir, (transformers) => transformers.AutoTokenizer.from_pretrained(path.resolve(dir), { local_files_only: true }));
  }

  /**
   * From tokenizer.json / tokenizer_config.json contents that are not files on disk (a GGUF file's tokenizer).
   * The class is picked from `tokenizer_class` the way transformers.js's `AutoTokenizer.from_pretrained` does.
   */
  static async fromFiles(files: TokenizerFiles, label: string): Promise<Tokenizer> {
    return Tokenizer.build(label, (transformers) => {
      const TokenizerClass = tokenizerClass(transformers, files.tokenizerConfig.tokenizer_class);
      return new TokenizerClass(files.tokenizerJson, files.tokenizerConfig);
    });
  }

  /** transformers.js offline, then `create`; any failure becomes one CheckpointError naming `label`. */
  private static async build(label: string, create: (transformers: Transformers) => unknown): Promise<Tokenizer> {
    const transformers = await import('@huggingface/transformers');
    transformers.env.allowRemoteModels = false;
    transformers.env.allowLocalModels = true;
    try {
      const hf = (await create(transformers)) as HfTokenizer;
      return new Tokenizer(hf, Boolean(hf.chat_template));
    } catch (err) {
      throw new CheckpointError(`${label}: the tokenizer could not be loaded (${(err as Error).message})`);
    }
  }

  /** Like HF `tokenizer(text)`: special tokens as the tokenizer's post-processor adds them. */
  encode(text: string, addSpecialTokens = true): number[] {
    const ids = this.hf(text, { add_special_tokens: addSpecialTokens }).input_ids;
    return Array.isArray(ids) ? ids.map(Number) : Array.from(ids.data, Number);
  }

  /** Chat-formatted ids through the tokenizer's template; with a generation prompt for the assistant's turn. */
  chat(messages: ChatMessage[], addGenerationPrompt = true): number[] {
    if (!this.hasChatTemplate) throw new Error('This tokenizer has no chat template (tokenizer_config.json chat_template); use plain text instead of --chat.');
    const out = this.hf.apply_chat_template(messages, { add_generation_prompt: addGenerationPrompt, tokenize: true, return_dict: false, return_tensor: false });
    if (!Array.isArray(out)) throw new Error('chat template did not return token ids');
    return out.map(Number);
  }

  /** The chat template rendered as text (for locating the response within a conversation). */
  chatText(messages: ChatMessage[], addGenerationPrompt = true): string {
    return String(this.hf.apply_chat_template(messages, { add_generation_prompt: addGenerationPrompt, tokenize: false }));
  }

  decode(ids: number[], skipSpecialTokens = true): string {
    return ids.length === 0 ? '' : this.hf.decode(ids, { skip_special_tokens: skipSpecialTokens });
  }
}
