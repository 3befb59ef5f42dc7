/**
 * The strings the GGUF tokenizer tests compare tokenizers on (test/unit/ggufTokenizer.test.ts against the HF
 * originals, test/interop/llamaCppTokenizer.test.ts against llama.cpp): fixed corner cases and seeded mixtures.
 */
import type { ChatMessage } from '../../src/core/model/tokenizer';

/** mulberry32: a fixed, seeded stream so a failure reproduces. */
function random(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FIXED_STRINGS = [
  '',
  'Hello world',
  'The quick brown fox jumps over the lazy dog.',
  "I'm sure you'll see they've gone; we'd DON'T it's HE'LL 'S 'Re",
  'Hello, world!!! ... ?!?! --- *** ### @@@ $$$ %%% ^^^ &&& ((( ))) [[[ ]]] {{{ }}} ||| \\\\ /// ~~~ ```',
  '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!',
  '...',
  '3.14159 2,718 1e10 -42 +7 0x1F 1_000_000 12:30:45 2024-01-31',
  ' ',
  '  ',
  '   leading spaces',
  'trailing spaces   ',
  'multiple     inner      spaces',
  '\t',
  'tab\tseparated\tvalues',
  '\n',
  '\n\n\n',
  'line one\nline two\r\nline three\rline four',
  ' \n \n ',
  '\t\n \t\n',
  '    indented\n        more indented\n',
  'word \n\n  next',
  '你好，世界！',
  '日本語のテキストです。カタカナとひらがな。',
  '한국어 문장입니다.',
  'Привет, мир! Ελληνικά. עברית. العربية. हिन्दी. ไทย',
  '👋🏽 👨‍👩‍👧‍👦 🎉🎉🎉 🇩🇪 ❤️ ✨',
  'café naïve résumé Ångström façade Straße œuvre',
  'cafe\u0301 nai\u0308ve A\u030angstro\u0308m', // decomposed (NFD) accents
  'ﬁ ﬂ Ⅻ ① ｆｕｌｌｗｉｄｔｈ', // compatibility characters
  'non\u00a0breaking\u3000ideographic\u2009thin\u200bzero-width\ufeffbom',
  'control\u0000chars\u0001\u0007\u001b[0m',
  "'ſ K 'K'S", // long s and the Kelvin sign: Unicode case folding of (?i:'s)
  '\u2581 \u2581\u2581 already ▁ marked',
  'def fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n',
  'const x = { a: [1, 2, 3], "b": null }; // comment\nif (x?.a?.length >= 2) { console.log(`${x}`); }',
  '<html><body class="main"><p>Hi &amp; bye</p></body></html>',
  'SELECT * FROM users WHERE id = 42 AND name LIKE \'%bob%\';',
  '#include <stdio.h>\nint main(void) { printf("%d\\n", 1 << 4); return 0; }',
  'https://example.com/path?query=1&other=two#frag user@example.org',
  '<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n',
  '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nHi<|eot_id|>',
  '<s> hello </s><s>[INST] x [/INST]</s>',
  '<unk> <s>x</s>',
  'a<|endoftext|>b<|end_of_text|>c',
  '<think>\nreasoning\n</think>\n\nanswer <tool_call>{"name": "f"}</tool_call>',
  '<|fim_prefix|>def f():<|fim_suffix|>\n<|fim_middle|>pass<|fim_pad|><|repo_name|>r<|file_sep|>',
  'not<|special|>ish <|im_start text <|',
  '[PAD151700] [EMPTY_3]',
  'ÿþ\u00ad\u0100 bytes-ish: Ġ Ċ ĉ',
  '\ud83d', // a lone surrogate (becomes U+FFFD)
  // Llama 3 vocabulary entries its merges do not reach: only llama.cpp's ignore_merges (HF's too) yields them whole.
  'Tuy nhiên ngoài ra, đặc biệt và değiş',
  'mektedir',
  'ıldı',
  'lardan',
  'аракт',
];

const FRAGMENTS = [
  'the', ' the', 'The', ' quick', 'ing', 'tion', "'s", "'ll", "n't", ' a', 'x', 'Z', 'über', 'niño', '東京', '猫', 'ね', '한', 'Ω',
  '😀', '🚀', '👍🏻', ' ', '  ', '   ', '\t', '\n', '\n\n', '\r\n', '.', ',', '!', '?', '...', '--', '()', '{}', '=>', '::', '##',
  '0', '7', '42', '123', '2024', '3.14', '99999', ' 12', '<s>', '</s>', '<|im_end|>', '<|eot_id|>', '_', '__init__', 'e\u0301',
];

function generatedStrings(count: number): string[] {
  const next = random(20240531);
  const digits = Array.from({ length: 40 }, (_, n) => Array.from({ length: n + 1 }, (_, i) => String((i * 7 + n) % 10)).join(''));
  const spaced = digits.slice(0, 12).map((d) => `price: ${d} and ${d}.${d.slice(0, 2)}`);
  const whitespaceRuns = Array.from({ length: 17 }, (_, n) => `x${' '.repeat(n)}y${'\n'.repeat(n % 4)}z${'\t'.repeat(n % 3)}`);
  const mixed = Array.from({ length: count }, () => {
    const parts = 1 + Math.floor(next() * 14);
    return Array.from({ length: parts }, () => FRAGMENTS[Math.floor(next() * FRAGMENTS.length)]).join('');
  });
  return [...digits, ...spaced, ...whitespaceRuns, ...mixed];
}

export const STRINGS = [...FIXED_STRINGS, ...generatedStrings(190)];

export const CHAT: ChatMessage[] = [
  { role: 'system', content: 'You are a helpful assistant. Answer in one sentence.' },
  { role: 'user', content: "What's 12 + 30? Also: 你好 👋 <s> café\n\n  indented" },
];
