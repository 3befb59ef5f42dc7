/**
 * The tokenizer a GGUF file carries in its `tokenizer.*` metadata, rebuilt as the Hugging Face `tokenizer.json` +
 * `tokenizer_config.json` pair that transformers.js runs. Nothing here tokenizes: it only translates llama.cpp's
 * description of a vocabulary into HF's, the way transformers' GGUF integration does
 * (`integrations/ggml.py`: `GGUFTokenizerSkeleton`, `GGUFLlamaConverter`, `GGUFQwen2Converter`, `GGUFGPTConverter`),
 * with llama.cpp's own per-model choices (`src/llama-vocab.cpp`, `llama_vocab::impl::load` and
 * `llm_tokenizer_bpe`) where transformers has none: the pre-tokenizer regexes per `tokenizer.ggml.pre`,
 * `ignore_merges`, the default `add_bos`, and `clean_spaces`. For `bert` (llama.cpp's WPM), which transformers cannot
 * read from GGUF at all, llama.cpp is the only reference: `llm_tokenizer_wpm_session` and the WPM defaults in `load`.
 */
import { GgufError, type GgufValue } from './ggufFormat';

export interface TokenizerFiles {
  tokenizerJson: Record<string, unknown>;
  tokenizerConfig: Record<string, unknown>;
}

type Metadata = ReadonlyMap<string, GgufValue>;

const KEY = {
  model: 'tokenizer.ggml.model',
  pre: 'tokenizer.ggml.pre',
  tokens: 'tokenizer.ggml.tokens',
  tokenType: 'tokenizer.ggml.token_type',
  scores: 'tokenizer.ggml.scores',
  merges: 'tokenizer.ggml.merges',
  bosId: 'tokenizer.ggml.bos_token_id',
  eosId: 'tokenizer.ggml.eos_token_id',
  unkId: 'tokenizer.ggml.unknown_token_id',
  padId: 'tokenizer.ggml.padding_token_id',
  sepId: 'tokenizer.ggml.seperator_token_id', // sic: gguf-py's and llama.cpp's spelling
  maskId: 'tokenizer.ggml.mask_token_id',
  addBos: 'tokenizer.ggml.add_bos_token',
  addEos: 'tokenizer.ggml.add_eos_token',
  addSep: 'tokenizer.ggml.add_sep_token',
  lowercase: 'tokenizer.ggml.normalizer.lowercase',
  stripAccents: 'tokenizer.ggml.normalizer.strip_accents',
  addSpacePrefix: 'tokenizer.ggml.add_space_prefix',
  chatTemplate: 'tokenizer.chat_template',
  chatTemplateNames: 'tokenizer.chat_templates',
} as const;

/** llama.cpp's `enum llama_token_type` (llama.h), as `tokenizer.ggml.token_type` stores it. */
const TokenType = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;

/** The token types llama.cpp splits out of the text before tokenizing it. */
const ADDED_TOKEN_TYPES: ReadonlySet<number> = new Set([TokenType.CONTROL, TokenType.USER_DEFINED, TokenType.UNKNOWN]);

/** SentencePiece's word-boundary mark, which Llama-style vocabularies use in place of a space. */
const SPIECE_UNDERLINE = '\u2581';

// ——— pre-tokenizers, per `tokenizer.ggml.pre` ———

/**
 * The regexes are copied from `llm_tokenizer_bpe`'s constructor in llama.cpp's `src/llama-vocab.cpp`, in its
 * "adapted" form where it has one: `(?:'[sS]|'[tT]|…)` for HF's `(?i:'s|'t|…)`, which is what transformers.js turns
 * `(?i:…)` into as well (ASCII case folding). llama.cpp applies them in order, each one splitting the pieces the
 * previous one left and keeping both the matches and the text between them; HF's `Split` with behavior `Isolated`,
 * chained in a `Sequence`, is exactly that.
 */
const GPT2_REGEX = String.raw`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)`;
const LLAMA3_REGEX = String.raw`(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`;
const QWEN2_REGEX = String.raw`(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`;
const QWEN35_REGEX = String.raw`(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`;

interface PreTokenizerSpec {
  /** Applied in order (llama.cpp's `regex_exprs`). */
  regexes: readonly string[];
  /** llama.cpp `ignore_merges`: a pre-token that is itself in the vocabulary is taken whole (HF BPE `ignore_merges`). */
  ignoreMerges: boolean;
  /** llama.cpp's `add_bos` default for this pre type, used when the file has no `tokenizer.ggml.add_bos_token`. */
  addBosByDefault: boolean;
  /** llama.cpp `clean_spaces`, i.e. HF `clean_up_tokenization_spaces` when decoding. */
  cleanSpaces: boolean;
  /** NFC-normalize first, as transformers' `Qwen2Converter` (used by `GGUFQwen2Converter`) does; llama.cpp has no normalizer. */
  nfc: boolean;
}

const spec = (regexes: readonly string[], flags: Partial<Omit<PreTokenizerSpec, 'regexes'>> = {}): PreTokenizerSpec => ({
  regexes,
  ignoreMerges: false,
  addBosByDefault: false,
  cleanSpaces: true,
  nfc: false,
  ...flags,
});

const LLAMA3 = spec([LLAMA3_REGEX], { ignoreMerges: true, addBosByDefault: true });
const GPT2 = spec([GPT2_REGEX]);
const STARCODER_REGEXES = [String.raw`\p{N}`, GPT2_REGEX];
const QWEN2 = spec([QWEN2_REGEX], { cleanSpaces: false, nfc: true });

/** `tokenizer.ggml.pre` → what llama.cpp's `llama_vocab::impl::load` makes of it (the branches for BPE vocabularies). */
const PRE_TOKENIZERS: ReadonlyMap<string, PreTokenizerSpec> = new Map([
  ['default', spec([String.raw`[\p{P}\$\+<=>\^~\|]+`, GPT2_REGEX, String.raw`\p{N}+`, '[0-9][0-9][0-9]'])],
  ...['llama3', 'llama-v3', 'llama-bpe', 'falcon3', 'falcon-h1', 'pixtral', 'midm-2.0', 'lfm2'].map((name) => [name, LLAMA3] as const),
  ['dbrx', spec([LLAMA3_REGEX])],
  ['smaug-bpe', spec([LLAMA3_REGEX])],
  ...['gpt-2', 'phi-2', 'mpt', 'olmo', 'jais', 'exaone4', 'gigachat', 'a.x-4.0', 'mellum'].map((name) => [name, GPT2] as const),
  ...['starcoder', 'refact', 'codeshell', 'exaone', 'minerva-7b', 'mellum2'].map((name) => [name, spec(STARCODER_REGEXES)] as const),
  ['command-r', spec(STARCODER_REGEXES, { cleanSpaces: false })],
  ['smollm', spec(STARCODER_REGEXES, { cleanSpaces: false })],
  ['falcon', spec([String.raw`[\p{P}\$\+<=>\^~\|` + '`]+', GPT2_REGEX, '[0-9][0-9][0-9]'])],
  ['qwen2', QWEN2],
  ['deepseek-r1-qwen', QWEN2],
  ['qwen35', spec([QWEN35_REGEX], { cleanSpaces: false, nfc: true })],
]);

/** The `tokenizer.ggml.pre` values this module can rebuild. */
export const GGUF_PRE_TOKENIZERS: readonly string[] = [...PRE_TOKENIZERS.keys()];

const SUPPORTED_MODELS = 'gpt2 (BPE), llama (SentencePiece), bert (WordPiece)';

// ——— entry point ———

/** `label` names the file in errors. */
export function tokenizerFilesFromGguf(metadata: Metadata, label: string): TokenizerFiles {
  const read = new MetadataReader(metadata, label);
  const model = read.string(KEY.model);
  if (model === undefined) throw new GgufError(label, `metadata "${KEY.model}" is missing, so the file has no tokenizer; supported: ${SUPPORTED_MODELS}`);
  if (model === 'gpt2') return byteLevelBpeFiles(read);
  if (model === 'llama') return sentencePieceFiles(read);
  if (model === 'bert') return wordPieceFiles(read);
  throw new GgufError(label, `${KEY.model} "${model}" is not supported; supported: ${SUPPORTED_MODELS}`);
}

// ——— gpt2: byte-level BPE ———

/** transformers `GGUFGPTConverter` / `GGUFQwen2Converter`, with the pre-tokenizer llama.cpp picks for the file's `pre`. */
function byteLevelBpeFiles(read: MetadataReader): TokenizerFiles {
  const pre = read.string(KEY.pre) ?? 'default'; // llama.cpp: a missing pre falls back to 'default' (with a warning)
  const preTokenizer = PRE_TOKENIZERS.get(pre);
  if (!preTokenizer) throw new GgufError(read.label, `${KEY.pre} "${pre}" is not supported; supported: ${GGUF_PRE_TOKENIZERS.join(', ')}`);
  const vocab = readVocabulary(read, { bos: undefined, eos: undefined, unk: undefined });
  const mergeStrings = read.stringArray(KEY.merges);
  if (!mergeStrings) throw new GgufError(read.label, `metadata "${KEY.merges}" is missing; a ${KEY.model} "gpt2" tokenizer needs its BPE merges`);
  // llama.cpp's default BOS needs a BOS id; only an explicit add_bos_token without one is an error.
  const addBos = read.bool(KEY.addBos) ?? (preTokenizer.addBosByDefault && vocab.bos !== undefined);
  const addEos = read.bool(KEY.addEos) ?? false;
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false };
  const tokenizerJson = {
    ...tokenizerJsonSkeleton(vocab),
    normalizer: preTokenizer.nfc ? { type: 'NFC' } : null,
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [...preTokenizer.regexes.map((regex) => ({ type: 'Split', pattern: { Regex: regex }, behavior: 'Isolated', invert: false })), byteLevel],
    },
    post_processor: templateProcessing(vocab, addBos, addEos, read.label),
    decoder: byteLevel,
    model: bpeModel(vocab, mergeStrings.map(splitMerge), { byteFallback: false, ignoreMerges: preTokenizer.ignoreMerges }),
  };
  // In transformers.js the class only decides the padding side; byte-level BPE checkpoints pad on the right.
  const config = tokenizerConfig(read, vocab, { tokenizerClass: 'PreTrainedTokenizerFast', addBos, addEos, cleanSpaces: preTokenizer.cleanSpaces });
  return { tokenizerJson, tokenizerConfig: config };
}

/** llama.cpp's merge entry "left right": split at the first space after the first character (`word.find(' ', 1)`). */
function splitMerge(merge: string): [string, string] {
  const at = merge.indexOf(' ', 1);
  return at < 0 ? [merge, ''] : [merge.slice(0, at), merge.slice(at + 1)];
}

// ——— llama: SentencePiece BPE ———

/**
 * HF's fast form of a SentencePiece BPE vocabulary (Llama 2, Mistral), as `LlamaConverter` builds it and
 * `GGUFLlamaConverter` reuses it: a BPE model with byte fallback over "▁"-for-space text, merges derived from the
 * piece scores, and the legacy "prepend ▁" normalizer that matches llama.cpp's `add_space_prefix`.
 */
function sentencePieceFiles(read: MetadataReader): TokenizerFiles {
  // llama.cpp's defaults for an SPM vocabulary: <unk>=0, <s>=1, </s>=2, add_bos, no add_eos, add_space_prefix.
  const vocab = readVocabulary(read, { bos: 1, eos: 2, unk: 0 });
  const scores = read.numberArray(KEY.scores);
  if (!scores) throw new GgufError(read.label, `metadata "${KEY.scores}" is missing; a ${KEY.model} "llama" (SentencePiece) tokenizer needs the piece scores to derive its merges`);
  if (scores.length < vocab.tokens.length) throw new GgufError(read.label, `metadata "${KEY.scores}" has ${scores.length} entries for ${vocab.tokens.length} tokens`);
  const addBos = read.bool(KEY.addBos) ?? true;
  const addEos = read.bool(KEY.addEos) ?? false;
  const addSpacePrefix = read.bool(KEY.addSpacePrefix) ?? true;
  const replaceSpace = { type: 'Replace', pattern: { String: ' ' }, content: SPIECE_UNDERLINE };
  const tokenizerJson = {
    ...tokenizerJsonSkeleton(vocab),
    normalizer: { type: 'Sequence', normalizers: addSpacePrefix ? [{ type: 'Prepend', prepend: SPIECE_UNDERLINE }, replaceSpace] : [replaceSpace] },
    pre_tokenizer: null,
    post_processor: templateProcessing(vocab, addBos, addEos, read.label),
    // LlamaTokenizerFast's decoder: ▁ back to spaces, byte pieces back to UTF-8, then drop the prepended space.
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: SPIECE_UNDERLINE }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
        ...(addSpacePrefix ? [{ type: 'Strip', content: ' ', start: 1, stop: 0 }] : []),
      ],
    },
    model: bpeModel(vocab, mergesFromScores(vocab.tokens, scores), { byteFallback: true, ignoreMerges: false }),
  };
  return { tokenizerJson, tokenizerConfig: { ...tokenizerConfig(read, vocab, { tokenizerClass: 'LlamaTokenizerFast', addBos, addEos, cleanSpaces: false }), legacy: true } };
}

/**
 * A SentencePiece BPE model has no merge list, only piece scores; HF derives the merges the way transformers'
 * `SentencePieceExtractor.extract(vocab_scores)` does (`convert_slow_tokenizer.py`, the version that produced the
 * published Llama 2 / Mistral `tokenizer.json` files): every split of every piece into two pieces of the
 * vocabulary, each piece's splits ordered by the ids of their halves, then all of them stably sorted by the
 * merged piece's score, best first. (transformers' newer `generate_merges` breaks score ties by the halves'
 * lengths instead, and `GGUFTokenizerSkeleton` by their scores; both reorder merges the published files list.)
 */
export function mergesFromScores(tokens: readonly string[], scores: readonly number[]): [string, string][] {
  const idOf = new Map<string, number>();
  tokens.forEach((token, id) => idOf.set(token, id));
  const candidates: { pair: [string, string]; score: number }[] = [];
  tokens.forEach((piece, id) => {
    const chars = Array.from(piece); // Python slices by code point
    const local: { pair: [string, string]; leftId: number; rightId: number }[] = [];
    for (let cut = 1; cut < chars.length; cut++) {
      const left = chars.slice(0, cut).join('');
      const right = chars.slice(cut).join('');
      const leftId = idOf.get(left);
      const rightId = idOf.get(right);
      if (leftId !== undefined && rightId !== undefined) local.push({ pair: [left, right], leftId, rightId });
    }
    local.sort((a, b) => a.leftId - b.leftId || a.rightId - b.rightId);
    for (const { pair } of local) candidates.push({ pair, score: scores[id] });
  });
  // Best score first; Array.prototype.sort is stable like Python's sorted, and this comparator keeps -Infinity ties.
  candidates.sort((a, b) => (a.score === b.score ? 0 : a.score < b.score ? 1 : -1));
  return candidates.map((c) => c.pair);
}

// ——— bert: WordPiece (llama.cpp's WPM) ———

/**
 * llama.cpp's `unicode_set_whitespace` (Unicode's White_Space property), on which `llm_tokenizer_wpm_session::preprocess`
 * ends a word. Spelled out rather than `\s`, which is narrower or wider than this depending on the regex engine.
 */
const WPM_WHITESPACE = String.raw`[\x09-\x0D\x20\x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}]`;

/**
 * What `preprocess` drops: U+0000, U+FFFD and llama.cpp's "control" flag, which is `\p{C}` without Cn (unassigned code
 * points are `UNDEFINED` there, kept as letters are). The Cc characters that are whitespace (tab to CR, U+0085) are
 * tested as whitespace first, so they end a word instead of vanishing.
 */
const WPM_DROPPED = String.raw`[\x00-\x08\x0E-\x1F\x7F-\x{84}\x{86}-\x{9F}\p{Cf}\p{Co}\p{Cs}\x{FFFD}]`;

/**
 * What `preprocess` makes a word of its own, one character each: `\p{P}`, the ASCII symbols (`cpt < 0x7F &&
 * is_symbol`: with the ASCII punctuation that is every printable ASCII character but letters and digits), and
 * `is_chinese_char`'s CJK ranges as llama.cpp has them (one starts at 0x2B920 where Unicode's block starts at 0x2B820,
 * copied from HF's Rust code).
 */
const WPM_ISOLATED =
  String.raw`[\p{P}\x21-\x2F\x3A-\x40\x5B-\x60\x7B-\x7E` +
  String.raw`\x{4E00}-\x{9FFF}\x{3400}-\x{4DBF}\x{20000}-\x{2A6DF}\x{2A700}-\x{2B73F}\x{2B740}-\x{2B81F}\x{2B920}-\x{2CEAF}\x{F900}-\x{FAFF}\x{2F800}-\x{2FA1F}]`;

/**
 * llama.cpp's `strip_accents` maps every code point to the first code point of its NFD (`unicode_cpts_normalize_nfd`,
 * one code point in, one out) and then drops the marks. NFD followed by dropping `\p{M}` is the same thing for every
 * code point but the precomposed Hangul syllables, whose NFD is two or three conjoining jamo, none of them a mark:
 * llama.cpp keeps only the leading consonant. Each of the 19 leading consonants owns a block of 588 syllables
 * (U+AC00 + 588·L …), so 19 replacements done before the NFD reproduce that.
 */
function hangulToLeadingJamo(): Record<string, unknown>[] {
  const hex = (cp: number) => cp.toString(16).toUpperCase();
  return Array.from({ length: 19 }, (_, lead) => {
    const first = 0xac00 + lead * 588;
    return { type: 'Replace', pattern: { Regex: String.raw`[\x{${hex(first)}}-\x{${hex(first + 587)}}]` }, content: String.fromCodePoint(0x1100 + lead) };
  });
}

/**
 * The word splitting of `llm_tokenizer_wpm_session::preprocess`, as HF normalizers (what it does to characters) and
 * pre-tokenizers (where it cuts). GGUF has no field for the HF pre-tokenizer, so llama.cpp's own code is the
 * specification, whatever the original tokenizer.json said; `tokenizer.ggml.pre` plays no part for WPM.
 *  - `strip_accents`: first-code-point NFD and marks dropped (see `hangulToLeadingJamo`);
 *  - U+0000, U+FFFD and control characters dropped;
 *  - `lowercase`: llama.cpp's `unicode_tolower` is Unicode's one-to-one simple mapping, while JS `toLowerCase` (which
 *    transformers.js's `Lowercase` calls) applies SpecialCasing: İ becomes "i̇" and a word-final Σ becomes ς. The two
 *    replacements first make those two cases agree; every other code point lowercases the same way in both.
 *  - words end at whitespace, which is removed, and each punctuation, ASCII symbol and CJK character is a word.
 */
function wpmNormalizer(lowercase: boolean, stripAccents: boolean) {
  const normalizers: Record<string, unknown>[] = [];
  if (stripAccents) normalizers.push(...hangulToLeadingJamo(), { type: 'NFD' }, { type: 'Replace', pattern: { Regex: String.raw`\p{M}` }, content: '' });
  normalizers.push({ type: 'Replace', pattern: { Regex: WPM_DROPPED }, content: '' });
  if (lowercase) {
    normalizers.push(
      { type: 'Replace', pattern: { String: '\u0130' }, content: 'i' },
      { type: 'Replace', pattern: { String: '\u03a3' }, content: '\u03c3' },
      { type: 'Lowercase' },
    );
  }
  // transformers.js takes a stretch of text between added tokens that normalizes to exactly an added token's text as
  // that token ("<|IM_END|>" lowercased becomes <|im_end|>), which llama.cpp, matching added tokens in the raw text
  // only, never does. A leading space keeps the normalized text from being any token's; the whitespace split drops it.
  normalizers.push({ type: 'Prepend', prepend: ' ' });
  return { type: 'Sequence', normalizers };
}

const WPM_PRE_TOKENIZER = {
  type: 'Sequence',
  pretokenizers: [
    { type: 'Split', pattern: { Regex: WPM_WHITESPACE }, behavior: 'Removed', invert: false },
    { type: 'Split', pattern: { Regex: WPM_ISOLATED }, behavior: 'Isolated', invert: false },
  ],
};

/**
 * `BertModel.set_vocab` (llama.cpp `conversion/bert.py`) stores the vocabulary in "phantom space" form: CONTROL tokens
 * as they are, a continuation piece `##x` as `x`, every other token `x` as `▁x`; `llm_tokenizer_wpm_session::tokenize`
 * then prepends "▁" to each word and takes the longest token at each position. That is HF's WordPiece over the
 * vocabulary with the phantom form undone: at the start of a word only "▁…" tokens fit (HF's plain tokens), after it
 * only the others (HF's `##` pieces). Two corners have no WordPiece equivalent and are left as they fall: a "▁" typed
 * inside a word, which llama.cpp lets a word-initial token match, and a lone "▁" token, kept as the `##▁` it came from.
 */
function undoPhantomSpace(token: string, type: number): string {
  if (type === TokenType.CONTROL) return token;
  return token.startsWith(SPIECE_UNDERLINE) && token !== SPIECE_UNDERLINE ? token.slice(SPIECE_UNDERLINE.length) : `##${token}`;
}

/**
 * llama.cpp's WPM vocabulary (`tokenizer.ggml.model` "bert", written by `BertModel.set_vocab`) as an HF WordPiece
 * tokenizer that splits words the way llama.cpp does, not the way the original tokenizer.json may have.
 */
function wordPieceFiles(read: MetadataReader): TokenizerFiles {
  // llama.cpp's WPM defaults (`load`): BOS 101 ([CLS] in BERT's vocabulary), UNK 100, SEP 102, PAD 0, MASK 103, no
  // EOS, each dropped when outside the vocabulary.
  const phantom = readVocabulary(read, { bos: 101, eos: undefined, unk: 100, pad: 0, sep: 102, mask: 103 });
  const { types } = phantom;
  if (!types) throw new GgufError(read.label, `metadata "${KEY.tokenType}" is missing; a ${KEY.model} "bert" (WordPiece) vocabulary needs the token types to tell its CONTROL tokens from the phantom-space ones`);
  const tokens = phantom.tokens.map((token, id) => undoPhantomSpace(token, types[id]));
  const seen = new Map<string, number>();
  tokens.forEach((token, id) => {
    const earlier = seen.get(token);
    if (earlier !== undefined) throw new GgufError(read.label, `metadata "${KEY.tokens}" has ${JSON.stringify(phantom.tokens[earlier])} (id ${earlier}) and ${JSON.stringify(phantom.tokens[id])} (id ${id}), which are both the WordPiece token ${JSON.stringify(token)}`);
    seen.set(token, id);
  });
  const vocab: Vocabulary = { ...phantom, tokens };
  if (vocab.unk === undefined) throw new GgufError(read.label, `metadata "${KEY.unkId}" is not set and llama.cpp's default (100) is outside the vocabulary; a ${KEY.model} "bert" (WordPiece) tokenizer needs an unknown token`);
  // llama.cpp `load`, WPM: add_bos and add_sep by default, no add_eos, clean_spaces; the file's flags override them,
  // as `llama_vocab_get_add_*` reports them to llama.cpp's callers. (`llama_tokenize`'s WPM branch itself adds BOS and
  // SEP whenever special tokens are asked for, flags or not: the two differ only for a file that turns one of them
  // off.) As for gpt2, a default-on token needs its id; only an explicit flag without one is an error.
  const addBos = read.bool(KEY.addBos) ?? vocab.bos !== undefined;
  const addEos = read.bool(KEY.addEos) ?? false;
  const addSep = read.bool(KEY.addSep) ?? vocab.sep !== undefined;
  // llama.cpp: lowercase unless the file says otherwise, and strip accents exactly when lowercasing unless it says otherwise.
  const lowercase = read.bool(KEY.lowercase) ?? true;
  const stripAccents = read.bool(KEY.stripAccents) ?? lowercase;
  const tokenizerJson = {
    version: '1.0',
    truncation: null,
    padding: null,
    // Added tokens keep the file's text: llama.cpp matches CONTROL and USER_DEFINED tokens in the raw text as stored.
    added_tokens: addedTokens(vocab, phantom.tokens),
    normalizer: wpmNormalizer(lowercase, stripAccents),
    pre_tokenizer: WPM_PRE_TOKENIZER,
    post_processor: wpmTemplateProcessing(vocab, { addBos, addEos, addSep }, read.label),
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: vocab.tokens[vocab.unk],
      continuing_subword_prefix: '##',
      // llama.cpp matches words of any length; HF's default (100 characters) would make long ones unknown.
      max_input_chars_per_word: Number.MAX_SAFE_INTEGER,
      vocab: Object.fromEntries(vocab.tokens.map((token, id) => [token, id])),
    },
  };
  return { tokenizerJson, tokenizerConfig: tokenizerConfig(read, vocab, { tokenizerClass: 'BertTokenizerFast', addBos, addEos, cleanSpaces: true }) };
}

/**
 * BOS (BERT's [CLS]) … EOS … SEP, each as its flag says. The pair follows the one place llama.cpp builds a pair,
 * the server's `format_prompt_rerank`: `bos A eos sep B eos`, the second sequence with type id 1.
 */
function wpmTemplateProcessing(vocab: Vocabulary, add: { addBos: boolean; addEos: boolean; addSep: boolean }, label: string) {
  const bos = add.addBos ? specialToken(vocab, vocab.bos, KEY.addBos, KEY.bosId, label) : undefined;
  const eos = add.addEos ? specialToken(vocab, vocab.eos, KEY.addEos, KEY.eosId, label) : undefined;
  const sep = add.addSep ? specialToken(vocab, vocab.sep, KEY.addSep, KEY.sepId, label) : undefined;
  const special = (token: { token: string } | undefined, typeId: number) => (token ? [{ SpecialToken: { id: token.token, type_id: typeId } }] : []);
  const single = [...special(bos, 0), { Sequence: { id: 'A', type_id: 0 } }, ...special(eos, 0), ...special(sep, 0)];
  const pair = [...special(bos, 0), { Sequence: { id: 'A', type_id: 0 } }, ...special(eos, 0), ...special(sep, 0), { Sequence: { id: 'B', type_id: 1 } }, ...special(eos, 1)];
  return { type: 'TemplateProcessing', single, pair, special_tokens: specialTokensMap([bos, eos, sep]) };
}

// ——— shared parts ———

interface Vocabulary {
  tokens: string[];
  /** `tokenizer.ggml.token_type` per token, or undefined where the file has none. */
  types: number[] | undefined;
  bos: number | undefined;
  eos: number | undefined;
  unk: number | undefined;
  pad: number | undefined;
  /** llama.cpp's SEP and MASK; only the WPM (bert) vocabulary has defaults for them and uses them. */
  sep: number | undefined;
  mask: number | undefined;
}

type SpecialDefaults = Pick<Vocabulary, 'bos' | 'eos' | 'unk'> & Partial<Pick<Vocabulary, 'pad' | 'sep' | 'mask'>>;

/** The token list and special ids, checked the way llama.cpp's `llama_vocab::impl::load` checks them. */
function readVocabulary(read: MetadataReader, defaults: SpecialDefaults): Vocabulary {
  const raw = read.stringArray(KEY.tokens);
  if (!raw) throw new GgufError(read.label, `metadata "${KEY.tokens}" is missing, so the file has no vocabulary`);
  // llama.cpp renames empty tokens rather than failing; duplicates it refuses, and so must we (one id per string).
  const tokens = raw.map((token, id) => (token === '' ? `[EMPTY_${id}]` : token));
  const seen = new Map<string, number>();
  tokens.forEach((token, id) => {
    const earlier = seen.get(token);
    if (earlier !== undefined) throw new GgufError(read.label, `metadata "${KEY.tokens}" has the token ${JSON.stringify(token)} twice (ids ${earlier} and ${id})`);
    seen.set(token, id);
  });
  const types = read.numberArray(KEY.tokenType);
  if (types && types.length < tokens.length) throw new GgufError(read.label, `metadata "${KEY.tokenType}" has ${types.length} entries for ${tokens.length} tokens`);
  // An id outside the vocabulary falls back to the default, as llama.cpp does ("bad special token").
  const special = (key: string, fallback: number | undefined) => {
    const id = read.integer(key);
    const inRange = (value: number | undefined) => (value !== undefined && value >= 0 && value < tokens.length ? value : undefined);
    return inRange(id) ?? inRange(fallback);
  };
  return {
    tokens,
    types,
    bos: special(KEY.bosId, defaults.bos),
    eos: special(KEY.eosId, defaults.eos),
    unk: special(KEY.unkId, defaults.unk),
    pad: special(KEY.padId, defaults.pad),
    sep: special(KEY.sepId, defaults.sep),
    mask: special(KEY.maskId, defaults.mask),
  };
}

/**
 * llama.cpp matches CONTROL, USER_DEFINED and UNKNOWN tokens in the raw text before tokenizing (`cache_special_tokens`,
 * `tokenizer_st_partition`); HF does the same with `added_tokens`. CONTROL and UNKNOWN ones are special (skipped
 * when decoding with `skip_special_tokens`), USER_DEFINED ones are not, as `GGUFLlamaConverter` and
 * `convert_hf_to_gguf.py`'s `get_vocab_base` pair them. Without token types, the special ids are the added tokens
 * (`GGUFLlamaConverter`'s fallback). `contents` is each token's text as llama.cpp matches it, when that is not the
 * vocabulary's own (the WPM vocabulary's phantom-space form).
 */
function addedTokens(vocab: Vocabulary, contents: readonly string[] = vocab.tokens): Record<string, unknown>[] {
  const { types } = vocab;
  const specialIds = new Set([vocab.bos, vocab.eos, vocab.unk, vocab.pad]);
  const isAdded = types ? (id: number) => ADDED_TOKEN_TYPES.has(types[id]) : (id: number) => specialIds.has(id);
  const added: Record<string, unknown>[] = [];
  contents.forEach((content, id) => {
    if (!isAdded(id)) return;
    const special = vocab.types?.[id] !== TokenType.USER_DEFINED;
    added.push({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special });
  });
  return added;
}

function tokenizerJsonSkeleton(vocab: Vocabulary) {
  return { version: '1.0', truncation: null, padding: null, added_tokens: addedTokens(vocab) };
}

function bpeModel(vocab: Vocabulary, merges: [string, string][], options: { byteFallback: boolean; ignoreMerges: boolean }) {
  return {
    type: 'BPE',
    dropout: null,
    unk_token: vocab.unk === undefined ? null : vocab.tokens[vocab.unk],
    continuing_subword_prefix: null,
    end_of_word_suffix: null,
    fuse_unk: options.byteFallback, // LlamaConverter fuses unknowns; the byte-level converters do not
    byte_fallback: options.byteFallback,
    ignore_merges: options.ignoreMerges,
    // Object.fromEntries defines own properties, so a token named "__proto__" stays a token.
    vocab: Object.fromEntries(vocab.tokens.map((token, id) => [token, id])),
    merges,
  };
}

/**
 * BOS/EOS around each sequence, as `LlamaTokenizerFast.update_post_processor` writes it (and Meta's Llama 3
 * tokenizer.json has it): `bos $A eos` and `bos $A eos bos $B eos` with type id 1 for the second sequence.
 */
function templateProcessing(vocab: Vocabulary, addBos: boolean, addEos: boolean, label: string) {
  const bos = addBos ? specialToken(vocab, vocab.bos, KEY.addBos, KEY.bosId, label) : undefined;
  const eos = addEos ? specialToken(vocab, vocab.eos, KEY.addEos, KEY.eosId, label) : undefined;
  const around = (sequence: 'A' | 'B', typeId: number) => [
    ...(bos ? [{ SpecialToken: { id: bos.token, type_id: typeId } }] : []),
    { Sequence: { id: sequence, type_id: typeId } },
    ...(eos ? [{ SpecialToken: { id: eos.token, type_id: typeId } }] : []),
  ];
  return { type: 'TemplateProcessing', single: around('A', 0), pair: [...around('A', 0), ...around('B', 1)], special_tokens: specialTokensMap([bos, eos]) };
}

/** TemplateProcessing's `special_tokens`: each token the templates name, with its id. */
function specialTokensMap(tokens: ({ token: string; id: number } | undefined)[]) {
  return Object.fromEntries(tokens.filter((t) => t !== undefined).map(({ token, id }) => [token, { id: token, ids: [id], tokens: [token] }]));
}

/** llama.cpp's `check_add_special_token`: adding a token the file does not name is an error. */
function specialToken(vocab: Vocabulary, id: number | undefined, addKey: string, idKey: string, label: string) {
  if (id === undefined) throw new GgufError(label, `${addKey} is true, but ${idKey} is not set`);
  return { token: vocab.tokens[id], id };
}

function tokenizerConfig(read: MetadataReader, vocab: Vocabulary, options: { tokenizerClass: string; addBos: boolean; addEos: boolean; cleanSpaces: boolean }): Record<string, unknown> {
  const tokenAt = (id: number | undefined) => (id === undefined ? null : vocab.tokens[id]);
  const chatTemplate = readChatTemplate(read);
  return {
    tokenizer_class: options.tokenizerClass,
    add_bos_token: options.addBos,
    add_eos_token: options.addEos,
    bos_token: tokenAt(vocab.bos),
    eos_token: tokenAt(vocab.eos),
    unk_token: tokenAt(vocab.unk),
    pad_token: tokenAt(vocab.pad),
    clean_up_tokenization_spaces: options.cleanSpaces,
    ...(chatTemplate === undefined ? {} : { chat_template: chatTemplate }),
  };
}

/**
 * `tokenizer.chat_template`, plus the named ones gguf-py's `GGUFWriter.add_chat_template` writes for a template
 * list (`tokenizer.chat_templates` names them, `tokenizer.chat_template.<name>` holds each), in HF's list form.
 */
function readChatTemplate(read: MetadataReader): string | { name: string; template: string }[] | undefined {
  const main = read.string(KEY.chatTemplate);
  const names = read.stringArray(KEY.chatTemplateNames);
  if (!names || names.length === 0) return main;
  const named = names.flatMap((name) => {
    const template = read.string(`${KEY.chatTemplate}.${name}`);
    return template === undefined ? [] : [{ name, template }];
  });
  return [...(main === undefined ? [] : [{ name: 'default', template: main }]), ...named];
}

// ——— typed metadata access ———

const INTEGER_TYPES = new Set(['u8', 'i8', 'u16', 'i16', 'u32', 'i32', 'u64', 'i64']);
const NUMBER_TYPES = new Set([...INTEGER_TYPES, 'f32', 'f64']);

/** Reads metadata values by key, with errors that name the file and the key. */
class MetadataReader {
  constructor(private readonly metadata: Metadata, readonly label: string) {}

  private fail(key: string, problem: string): never {
    throw new GgufError(this.label, `metadata "${key}" ${problem}`);
  }

  string(key: string): string | undefined {
    const entry = this.metadata.get(key);
    if (!entry) return undefined;
    if (entry.type !== 'string') this.fail(key, `must be a string, not ${entry.type}`);
    return entry.value;
  }

  bool(key: string): boolean | undefined {
    const entry = this.metadata.get(key);
    if (!entry) return undefined;
    if (entry.type !== 'bool') this.fail(key, `must be a bool, not ${entry.type}`);
    return entry.value;
  }

  integer(key: string): number | undefined {
    const entry = this.metadata.get(key);
    if (!entry) return undefined;
    if (!INTEGER_TYPES.has(entry.type)) this.fail(key, `must be an integer, not ${entry.type}`);
    return Number((entry as { value: number | bigint }).value);
  }

  stringArray(key: string): string[] | undefined {
    return this.array(key, (item) => (item.type === 'string' ? item.value : undefined), 'strings');
  }

  numberArray(key: string): number[] | undefined {
    return this.array(key, (item) => (NUMBER_TYPES.has(item.type) ? Number((item as { value: number | bigint }).value) : undefined), 'numbers');
  }

  private array<T>(key: string, element: (item: GgufValue) => T | undefined, what: string): T[] | undefined {
    const entry = this.metadata.get(key);
    if (!entry) return undefined;
    if (entry.type !== 'array') this.fail(key, `must be an array of ${what}, not ${entry.type}`);
    return entry.items.map((item, index) => element(item) ?? this.fail(key, `must be an array of ${what}, but item ${index} is ${item.type}`));
  }
}
