/**
 * What llama.cpp's `convert_hf_to_gguf.py` writes as GGUF tokenizer metadata for an HF tokenizer folder, written
 * here from the converter (and gguf-py's SpecialVocab) for tests: `_set_vocab_gpt2` for byte-level BPE tokenizers,
 * `_set_vocab_sentencepiece` for Llama 2-style SentencePiece ones and `BertModel.set_vocab` (conversion/bert.py) for
 * WordPiece ones. Independent of src/core/gguf/ggufTokenizer.ts.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { GgufValue } from '../../src/core/gguf/ggufFormat';

// ——— GGUF values ———

export const str = (value: string): GgufValue => ({ type: 'string', value });
export const u32 = (value: number): GgufValue => ({ type: 'u32', value });
export const bool = (value: boolean): GgufValue => ({ type: 'bool', value });
export const strings = (values: readonly string[]): GgufValue => ({ type: 'array', elementType: 'string', items: values.map(str) });
export const i32s = (values: readonly number[]): GgufValue => ({ type: 'array', elementType: 'i32', items: values.map((value) => ({ type: 'i32', value })) });
export const f32s = (values: readonly number[]): GgufValue => ({ type: 'array', elementType: 'f32', items: values.map((value) => ({ type: 'f32', value: Math.fround(value) })) });

export const stringItems = (value: GgufValue | undefined): string[] => (value?.type === 'array' ? value.items.map((item) => (item.type === 'string' ? item.value : '')) : []);

// ——— convert_hf_to_gguf.py, as far as the tokenizer goes ———

/** gguf-py `TokenType`. */
const TokenType = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;

interface HfAddedToken {
  id: number;
  content: string;
  special: boolean;
  normalized: boolean;
}
/** One item of a TemplateProcessing template. */
interface HfTemplatePiece {
  SpecialToken?: { id: string };
  Sequence?: { id: string };
}
interface HfPostProcessor {
  type: string;
  single?: HfTemplatePiece[];
  pair?: HfTemplatePiece[];
  processors?: HfPostProcessor[];
  cls?: [string, number];
  sep?: [string, number];
}
interface HfNormalizer {
  type: string;
  lowercase?: boolean | null;
  strip_accents?: boolean | null;
  normalizers?: HfNormalizer[];
}
interface HfTokenizerJson {
  added_tokens: HfAddedToken[];
  normalizer?: HfNormalizer | null;
  post_processor: HfPostProcessor | null;
  model: { type?: string; vocab: Record<string, number>; merges: (string | [string, string])[] };
}
type HfTokenizerConfig = Record<string, unknown> & { chat_template?: string };

/** What convert_hf_to_gguf.py reads from a model folder; `config` stands for the fields of its config.json. */
export interface HfModel {
  json: HfTokenizerJson;
  tokenizerConfig: HfTokenizerConfig;
  config: { vocab_size: number; bos_token_id?: number; eos_token_id?: number; type_vocab_size?: number } & Record<string, unknown>;
}

export function readHfModel(dir: string, config: HfModel['config']): HfModel {
  const read = (file: string) => JSON.parse(readFileSync(path.join(dir, file), 'utf8'));
  return { json: read('tokenizer.json'), tokenizerConfig: read('tokenizer_config.json'), config };
}

/** `TextModel.does_token_look_special`. */
export function doesTokenLookSpecial(token: string): boolean {
  return (
    ['<pad>', '<mask>', '<2mass>', '[@BOS@]'].includes(token) ||
    (token.startsWith('<|') && token.endsWith('|>')) ||
    (token.startsWith('<｜') && token.endsWith('｜>')) ||
    (token.startsWith('<unused') && token.endsWith('>'))
  );
}

/** HF `tokenizer.vocab` (the model's vocabulary plus the added tokens) as id → token. */
function idToToken(json: HfTokenizerJson): Map<number, string> {
  const byId = new Map(Object.entries(json.model.vocab).map(([token, id]) => [id, token]));
  for (const added of json.added_tokens) byId.set(added.id, added.content);
  return byId;
}

/**
 * `TextModel.get_vocab_base`: ids 0..vocab_size-1, `[PAD{i}]` (UNUSED) for ids the tokenizer lacks, added tokens
 * CONTROL when special or special-looking, else USER_DEFINED with ▁ pre-normalized to a space. (Its
 * decode(encode(token)) round trip of non-normalized added tokens is the identity for these tokenizers.)
 */
function vocabBase(model: HfModel) {
  const byId = idToToken(model.json);
  const added = new Map(model.json.added_tokens.map((t) => [t.content, t]));
  const tokens: string[] = [];
  const types: number[] = [];
  for (let id = 0; id < model.config.vocab_size; id++) {
    const token = byId.get(id);
    if (token === undefined) {
      tokens.push(`[PAD${id}]`);
      types.push(TokenType.UNUSED);
    } else if (added.has(token)) {
      const control = added.get(token)!.special || doesTokenLookSpecial(token);
      tokens.push(control ? token : token.replaceAll('\u2581', ' '));
      types.push(control ? TokenType.CONTROL : TokenType.USER_DEFINED);
    } else {
      tokens.push(token);
      types.push(TokenType.NORMAL);
    }
  }
  return { tokens, types };
}

/** gguf-py's `GGUFWriter.add_{typ}_token_id` keys; `cls` has no such method, so SpecialVocab skips it. */
const ID_KEYS: Record<string, string> = {
  bos: 'tokenizer.ggml.bos_token_id',
  eos: 'tokenizer.ggml.eos_token_id',
  unk: 'tokenizer.ggml.unknown_token_id',
  sep: 'tokenizer.ggml.seperator_token_id',
  pad: 'tokenizer.ggml.padding_token_id',
  mask: 'tokenizer.ggml.mask_token_id',
  eot: 'tokenizer.ggml.eot_token_id',
  eom: 'tokenizer.ggml.eom_token_id',
};
/** `GGUFWriter.add_add_{typ}_token` exists for these only. */
const ADD_KEYS: Record<string, string> = { bos: 'tokenizer.ggml.add_bos_token', eos: 'tokenizer.ggml.add_eos_token', sep: 'tokenizer.ggml.add_sep_token' };

/** The text of a tokenizer_config.json token entry: a string, or an AddedToken object's content. */
const entryContent = (entry: unknown): string | undefined => (typeof entry === 'string' ? entry : typeof (entry as { content?: unknown } | null)?.content === 'string' ? (entry as { content: string }).content : undefined);

/**
 * gguf-py `SpecialVocab(path, load_merges, n_vocab).add_to_gguf` for a tokenizer.json + tokenizer_config.json +
 * config.json folder: `_try_load_from_tokenizer_json` (merges, normalizer flags, the post-processor's crude reading,
 * the tokenizer_config entries), then `_try_load_from_config_json`, which only fills what is still unset.
 */
function specialVocab(model: HfModel, options: { loadMerges: boolean; nVocab?: number }): Map<string, GgufValue> {
  const out = new Map<string, GgufValue>();
  const { json, config } = model;
  const tokenizerConfig: Record<string, unknown> = { ...model.tokenizerConfig }; // SpecialVocab edits its copy
  if (options.loadMerges) {
    // The pair form (transformers >= 4.45) is joined with a space, spaces inside a part encoded as chr(ord(' ') + 256).
    const merges = json.model.merges.map((m) => (typeof m === 'string' ? m : m.map((part) => part.replaceAll(' ', '\u0120')).join(' ')));
    out.set('tokenizer.ggml.merges', strings(merges));
  }
  // _parse_normalizer: Lowercase, StripAccents, BertNormalizer's flags, nested in Sequences.
  const normalizer: { lowercase?: boolean; stripAccents?: boolean } = {};
  const parseNormalizer = (n: HfNormalizer) => {
    if (n.type === 'Lowercase') normalizer.lowercase = true;
    else if (n.type === 'StripAccents') normalizer.stripAccents = true;
    else if (n.type === 'BertNormalizer') {
      // A present key overrides what came before, None included, which add_to_gguf then leaves out.
      if ('lowercase' in n) normalizer.lowercase = n.lowercase ?? undefined;
      if ('strip_accents' in n) normalizer.stripAccents = n.strip_accents ?? undefined;
    } else if (n.type === 'Sequence') (n.normalizers ?? []).forEach(parseNormalizer);
  };
  if (json.normalizer) parseNormalizer(json.normalizer);

  const specialTypes = ['bos', 'eos', 'unk', 'sep', 'pad', 'cls', 'mask'];
  const addSpecial = new Map<string, boolean>();
  let specialBos = tokenizerConfig.bos_token;
  let specialCls = tokenizerConfig.cls_token;
  let specialEos = tokenizerConfig.eos_token;
  const specialSep = tokenizerConfig.sep_token;
  if (!specialBos && specialCls) tokenizerConfig.bos_token = specialBos = specialCls;
  if (!specialEos && specialSep) tokenizerConfig.eos_token = specialEos = specialSep;
  const processors = json.post_processor ? (json.post_processor.processors ?? [json.post_processor]) : [];
  for (const processor of processors) {
    if (processor.type === 'RobertaProcessing') {
      for (const typ of ['bos', 'eos', 'sep']) addSpecial.set(typ, true);
      if (!specialCls) tokenizerConfig.cls_token = processor.cls?.[0] ?? specialBos;
      if (!specialSep) tokenizerConfig.sep_token = processor.sep?.[0] ?? specialEos;
      continue;
    }
    if (processor.type !== 'TemplateProcessing') continue;
    // Its crude reading of TemplateProcessing. Python's `in`/`==` never equate a string with an AddedToken dict: so neither does ===.
    const single = processor.single ?? [];
    let pair = processor.pair ?? [];
    let specialFirst: string | undefined;
    let specialLast: string | undefined;
    if (single.length > 1) {
      specialFirst = single[0].SpecialToken?.id;
      if (specialFirst) {
        if (specialFirst !== specialBos && specialFirst !== specialCls) {
          if (!specialBos) tokenizerConfig.bos_token = specialBos = specialFirst;
          if (!specialCls) tokenizerConfig.cls_token = specialCls = specialFirst;
        }
        addSpecial.set('bos', specialFirst === specialBos || specialFirst === specialCls);
      }
      specialLast = single.at(-1)?.SpecialToken?.id;
      if (specialLast) {
        if (specialLast !== specialEos) {
          // The old EOS becomes the EOT (else EOM) token and the template's last token the EOS.
          if (!specialTypes.includes('eot')) {
            specialTypes.push('eot');
            tokenizerConfig.eot_token = specialEos;
          } else if (!specialTypes.includes('eom')) {
            specialTypes.push('eom');
            tokenizerConfig.eom_token = specialEos;
          }
          tokenizerConfig.eos_token = specialEos = specialLast;
        }
        addSpecial.set('eos', specialLast === specialEos);
      }
    }
    if (pair.length > 0) {
      const start = specialFirst && pair[0].SpecialToken?.id === specialFirst ? 1 : 0;
      const stop = specialLast && pair.at(-1)?.SpecialToken?.id === specialLast ? -1 : undefined;
      pair = pair.slice(start, stop);
      if (pair.length > 0 && pair[0].Sequence?.id === 'A' && pair.at(-1)?.Sequence?.id === 'B' && pair.slice(1, -1).length > 0) {
        const middle = pair.slice(1, -1);
        let addSep = false;
        const first = middle[0].SpecialToken?.id;
        if (first && (first === specialSep || first === specialEos) && !specialLast) addSep = true;
        const second = middle.length === 2 ? middle[1].SpecialToken?.id : undefined;
        if (second && (second === specialSep || second === specialEos)) addSep = true;
        addSpecial.set('sep', addSep);
        if (addSep && !specialSep) tokenizerConfig.sep_token = specialEos;
      }
    }
  }

  const ids = new Map<string, number>();
  // _set_special_token: the first id found for a type stays; one outside n_vocab is skipped, a negative one refused.
  const setId = (typ: string, id: unknown) => {
    if (typeof id !== 'number' || !Number.isInteger(id)) return;
    if (id < 0) throw new Error(`invalid value for special token type ${typ}: ${id}`);
    if ((options.nVocab === undefined || id < options.nVocab) && !ids.has(typ)) ids.set(typ, id);
  };
  for (const typ of specialTypes) {
    const add = tokenizerConfig[`add_${typ}_token`];
    if (typeof add === 'boolean') addSpecial.set(typ, add);
    const content = entryContent(tokenizerConfig[`${typ}_token`]);
    if (content !== undefined) setId(typ, json.added_tokens.find((t) => t.content === content)?.id);
  }
  // _try_load_from_config_json runs second: it only fills types the tokenizer files left unset.
  const textConfig = (config.text_config ?? {}) as Record<string, unknown>; // multimodal configs nest it
  for (const typ of specialTypes) setId(typ, config[`${typ}_token_id`] ?? textConfig[`${typ}_token_id`]);
  for (const [typ, id] of ids) if (ID_KEYS[typ]) out.set(ID_KEYS[typ], u32(id));
  for (const [typ, add] of addSpecial) if (ADD_KEYS[typ]) out.set(ADD_KEYS[typ], bool(add));
  if (typeof tokenizerConfig.chat_template === 'string') out.set('tokenizer.chat_template', str(tokenizerConfig.chat_template));
  if (normalizer.lowercase !== undefined) out.set('tokenizer.ggml.normalizer.lowercase', bool(normalizer.lowercase));
  if (normalizer.stripAccents !== undefined) out.set('tokenizer.ggml.normalizer.strip_accents', bool(normalizer.stripAccents));
  return out;
}

/** `TextModel._set_vocab_gpt2`; `pre` is what `get_vocab_base_pre` finds by hashing the tokenization of its probe text. */
export function gpt2Metadata(model: HfModel, pre: string): Map<string, GgufValue> {
  const { tokens, types } = vocabBase(model);
  return new Map([
    ['tokenizer.ggml.model', str('gpt2')],
    ['tokenizer.ggml.pre', str(pre)],
    ['tokenizer.ggml.tokens', strings(tokens)],
    ['tokenizer.ggml.token_type', i32s(types)],
    ...specialVocab(model, { loadMerges: true }),
  ]);
}

/**
 * The SentencePiece model's pieces and scores, recovered from tokenizer.json, which was built from them (this
 * package ships no tokenizer.model). HF's merges list each piece's splits in the order of the piece's score, so the
 * rank of a piece's first merge is an order-equivalent score. Pieces made only of "▁" come last, in id order: one
 * shared score, which keeps the score tie the SentencePiece model has there. Pieces no merge makes (bytes, single
 * characters, control tokens) get 0: their scores take part in no merge.
 */
function sentencePieceModel(json: HfTokenizerJson) {
  const pieces: string[] = [];
  for (const [piece, id] of Object.entries(json.model.vocab)) pieces[id] = piece;
  const firstMerge = new Map<string, number>();
  json.model.merges.forEach((merge, rank) => {
    const [left, right] = typeof merge === 'string' ? merge.split(' ') : merge;
    if (!firstMerge.has(left + right)) firstMerge.set(left + right, rank);
  });
  const onlySpaceMarks = (piece: string) => piece.length > 1 && /^\u2581+$/.test(piece);
  const scores = pieces.map((piece) => (onlySpaceMarks(piece) ? -1e9 : -(firstMerge.get(piece) ?? 0)));
  const specials = new Map(json.added_tokens.map((t) => [t.id, t.content]));
  // SentencePieceProcessor.IsUnknown / IsControl / IsByte for Llama's model: <unk>, <s> and </s>, <0xNN>.
  const types = pieces.map((piece, id) =>
    piece === '<unk>' ? TokenType.UNKNOWN : specials.has(id) ? TokenType.CONTROL : /^<0x[0-9A-F]{2}>$/.test(piece) ? TokenType.BYTE : TokenType.NORMAL,
  );
  return { pieces, scores, types };
}

/** `TextModel._set_vocab_sentencepiece` (`_create_vocab_sentencepiece`), the path for a folder with tokenizer.model. */
export function sentencePieceMetadata(model: HfModel): Map<string, GgufValue> {
  const spm = sentencePieceModel(model.json);
  const size = model.config.vocab_size;
  const tokens = Array.from({ length: size }, (_, id) => `[PAD${id}]`);
  const scores = new Array<number>(size).fill(-10000);
  const types = new Array<number>(size).fill(TokenType.UNUSED);
  spm.pieces.forEach((piece, id) => {
    tokens[id] = piece;
    scores[id] = spm.scores[id];
    types[id] = spm.types[id];
  });
  const decoder = (model.tokenizerConfig.added_tokens_decoder ?? {}) as Record<string, { content: string; special?: boolean }>;
  for (const [idText, data] of Object.entries(decoder)) {
    const id = Number(idText);
    if (id >= size) continue; // "ignore token {id}: id is out of range" (Gemma 3 1B's <image_soft_token>, 262144)
    const control = Boolean(data.special) || doesTokenLookSpecial(data.content);
    types[id] = control ? TokenType.CONTROL : TokenType.USER_DEFINED;
    tokens[id] = control ? data.content : data.content.replaceAll('\u2581', ' ');
    scores[id] = -1000;
  }
  return new Map([
    ['tokenizer.ggml.model', str('llama')],
    ['tokenizer.ggml.pre', str('default')],
    ['tokenizer.ggml.tokens', strings(tokens)],
    ['tokenizer.ggml.scores', f32s(scores)],
    ['tokenizer.ggml.token_type', i32s(types)],
    ...specialVocab(model, { loadMerges: false, nVocab: tokens.length }),
  ]);
}

/**
 * `BertModel.set_vocab` (conversion/bert.py), the path for an HF WordPiece tokenizer: `get_vocab_base`'s tokens and
 * types in llama.cpp's "phantom space" form (CONTROL tokens as they are, `##x` → `x`, every other token `x` → `▁x`),
 * `token_type_count` from config.json's `type_vocab_size` (default 1), then SpecialVocab without merges. `pre` is what
 * `get_vocab_base_pre`'s probe-text hash finds; for a tokenizer it does not know, the converter stops there
 * ("BPE pre-tokenizer was not recognized"), and llama.cpp ignores `pre` for a WPM vocabulary anyway.
 */
export function wordPieceMetadata(model: HfModel, pre: string): Map<string, GgufValue> {
  const { tokens, types } = vocabBase(model);
  const phantom = tokens.map((token, id) => (types[id] === TokenType.CONTROL ? token : token.startsWith('##') ? token.slice(2) : `\u2581${token}`));
  return new Map([
    ['tokenizer.ggml.token_type_count', u32(typeof model.config.type_vocab_size === 'number' ? model.config.type_vocab_size : 1)],
    ['tokenizer.ggml.model', str('bert')],
    ['tokenizer.ggml.pre', str(pre)],
    ['tokenizer.ggml.tokens', strings(phantom)],
    ['tokenizer.ggml.token_type', i32s(types)],
    ...specialVocab(model, { loadMerges: false, nVocab: phantom.length }),
  ]);
}

/**
 * The tokenizer metadata for a checkpoint folder (tokenizer.json, tokenizer_config.json, config.json). `pre` is what
 * the converter's probe-text hash would find; for the tokenizers the tests use it is known from their special tokens
 * (for a WordPiece one, which llama.cpp reads without it, "default").
 */
export function hfTokenizerToGguf(dir: string, pre?: string): Map<string, GgufValue> {
  const config = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8'));
  const eos = Array.isArray(config.eos_token_id) ? config.eos_token_id[0] : config.eos_token_id;
  const model = readHfModel(dir, { ...config, vocab_size: config.vocab_size, bos_token_id: config.bos_token_id ?? undefined, eos_token_id: eos ?? undefined });
  const json = model.json as unknown as { model: { type?: string; byte_fallback?: boolean; vocab: Record<string, number> } };
  if (json.model.type === 'WordPiece') return wordPieceMetadata(model, pre ?? 'default');
  if (json.model.byte_fallback) return sentencePieceMetadata(model);
  const vocab = json.model.vocab;
  const added = new Set(model.json.added_tokens.map((t) => t.content));
  const detected = added.has('<|begin_of_text|>') ? 'llama-bpe' : added.has('<|im_start|>') || '<|im_start|>' in vocab ? 'qwen2' : 'default';
  return gpt2Metadata(model, pre ?? detected);
}
