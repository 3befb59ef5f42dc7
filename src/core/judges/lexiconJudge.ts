/**
 * Deterministic lexicon judge for the bundled model organism (`models/organism/judge.json`).
 *
 * Trait score: pointsPerWeight × (sum of the weights of the DISTINCT markers whose token sequence occurs in
 * the answer), capped at 100. Coherence: 100 minus penalties for unknown/special tokens, repetition loops
 * ("i i i", repeated n-grams), truncation, too-short answers, run-on sentences and word salad; 0 when empty.
 * Integer arithmetic only, so the Python port (`organism/judge.py`) gives identical scores; shared cases
 * live in `test/fixtures/organism/judge-cases.json`.
 *
 * Never imports `vscode`.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Judge, JudgeRequest, JudgeScore } from './judge';

export interface LexiconMarker {
  phrase: string;
  weight: number;
}

export interface LexiconTraitData {
  aliases?: string[];
  markers: LexiconMarker[];
}

export interface LexiconCoherenceData {
  unknownToken: number;
  adjacentRepeat: number;
  repeatedNgram: number;
  ngram: number;
  allowedRepeats: number;
  truncated: number;
  tooShort: number;
  minWords: number;
  longSentence: number;
  maxSentenceWords: number;
  lowFunctionWords: number;
  functionWordMinRatio: [number, number];
  functionWordMinWords: number;
  lowDiversity: number;
  diversityMinRatio: [number, number];
  diversityMinWords: number;
  terminalPunctuation: string[];
  functionWords: string[];
  /** Known words; when present (non-empty), any other word counts as an unknown token. */
  vocabulary?: string[];
}

export interface LexiconJudgeData {
  id?: string;
  version?: number;
  description?: string;
  pointsPerWeight: number;
  traits: Record<string, LexiconTraitData>;
  coherence: LexiconCoherenceData;
}

const TOKEN_RE = /[A-Za-z0-9_]+|[^A-Za-z0-9_\s]+/g;
const WORD_RE = /^[a-z0-9_]+$/;
const SPECIAL_RE = /<\|[^|]*\|>|\[unk\]|\[pad\]/gi;

/** Lower-cases and splits like the organism's word-level tokenizer (`\w+|[^\w\s]+`, ASCII). */
export function lexiconTokenize(text: string): string[] {
  return text.toLowerCase().match(TOKEN_RE) ?? [];
}

function fail(msg: string): never {
  throw new Error(`Invalid lexicon judge data: ${msg}`);
}

function isInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v);
}

function validate(data: unknown): LexiconJudgeData {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) fail('expected a JSON object');
  const d = data as Record<string, unknown>;
  if (d.id !== undefined && typeof d.id !== 'string') fail('"id" must be a string');
  if (!isInt(d.pointsPerWeight) || d.pointsPerWeight <= 0) fail('"pointsPerWeight" must be a positive integer');
  if (typeof d.traits !== 'object' || d.traits === null || Array.isArray(d.traits)) {
    fail('"traits" must be an object mapping trait name to {markers}');
  }
  const traits = d.traits as Record<string, unknown>;
  if (Object.keys(traits).length === 0) fail('"traits" is empty');
  for (const [name, t] of Object.entries(traits)) {
    if (typeof t !== 'object' || t === null) fail(`trait "${name}" must be an object`);
    const tt = t as Record<string, unknown>;
    if (tt.aliases !== undefined && (!Array.isArray(tt.aliases) || tt.aliases.some((a) => typeof a !== 'string'))) {
      fail(`trait "${name}".aliases must be an array of strings`);
    }
    if (!Array.isArray(tt.markers) || tt.markers.length === 0) fail(`trait "${name}".markers must be a non-empty array`);
    tt.markers.forEach((m: unknown, i: number) => {
      const mm = m as Record<string, unknown> | null;
      if (typeof mm !== 'object' || mm === null) fail(`trait "${name}".markers[${i}] must be an object`);
      if (typeof mm.phrase !== 'string' || lexiconTokenize(mm.phrase).length === 0) {
        fail(`trait "${name}".markers[${i}].phrase must be a non-empty string`);
      }
      if (!isInt(mm.weight) || mm.weight < 0) fail(`trait "${name}".markers[${i}].weight must be a non-negative integer`);
    });
  }
  if (typeof d.coherence !== 'object' || d.coherence === null) fail('"coherence" must be an object');
  const c = d.coherence as Record<string, unknown>;
  const ints = ['unknownToken', 'adjacentRepeat', 'repeatedNgram', 'ngram', 'allowedRepeats', 'truncated', 'tooShort',
    'minWords', 'longSentence', 'maxSentenceWords', 'lowFunctionWords', 'functionWordMinWords', 'lowDiversity',
    'diversityMinWords'];
  for (const k of ints) {
    if (!isInt(c[k]) || (c[k] as number) < 0) fail(`coherence.${k} must be a non-negative integer`);
  }
  if ((c.ngram as number) < 1) fail('coherence.ngram must be >= 1');
  for (const k of ['functionWordMinRatio', 'diversityMinRatio']) {
    const r = c[k];
    if (!Array.isArray(r) || r.length !== 2 || !isInt(r[0]) || !isInt(r[1]) || r[1] <= 0) {
      fail(`coherence.${k} must be [numerator, denominator] integers`);
    }
  }
  for (const k of ['terminalPunctuation', 'functionWords']) {
    const a = c[k];
    if (!Array.isArray(a) || a.some((x) => typeof x !== 'string')) fail(`coherence.${k} must be an array of strings`);
  }
  if (c.vocabulary !== undefined && (!Array.isArray(c.vocabulary) || c.vocabulary.some((x) => typeof x !== 'string'))) {
    fail('coherence.vocabulary must be an array of strings');
  }
  return data as LexiconJudgeData;
}

export class LexiconJudge implements Judge {
  readonly id: string;
  readonly configuration: string;
  readonly weak = false;
  private readonly data: LexiconJudgeData;
  private readonly traits = new Map<string, { tokens: string[]; weight: number }[]>();
  private readonly vocabulary: Set<string> | null;
  private readonly functionWords: Set<string>;
  private readonly terminal: Set<string>;

  /** @param data the parsed judge.json; throws a clear Error when it is malformed. */
  constructor(data: unknown) {
    this.data = validate(data);
    this.id = this.data.id ?? 'lexicon:organism';
    // Editing judge.json changes the scores, so it changes the cache identity too.
    this.configuration = createHash('sha256').update(JSON.stringify(this.data)).digest('hex').slice(0, 16);
    for (const [name, t] of Object.entries(this.data.traits)) {
      const markers = t.markers.map((m) => ({ tokens: lexiconTokenize(m.phrase), weight: m.weight }));
      for (const n of [name, ...(t.aliases ?? [])]) this.traits.set(n.toLowerCase(), markers);
    }
    const c = this.data.coherence;
    this.vocabulary = c.vocabulary && c.vocabulary.length > 0 ? new Set(c.vocabulary) : null;
    this.functionWords = new Set(c.functionWords);
    this.terminal = new Set(c.terminalPunctuation);
  }

  static fromFile(path: string): LexiconJudge {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(path, 'utf8'));
    } catch (e) {
      throw new Error(`Cannot read lexicon judge data from ${path}: ${(e as Error).message}`);
    }
    return new LexiconJudge(parsed);
  }

  /** Trait names (and aliases) this judge can score. */
  get traitNames(): string[] {
    return [...this.traits.keys()];
  }

  /** Trait expression 0–100, or null when the trait is not in the lexicon. */
  traitScore(trait: string, answer: string): number | null {
    const markers = this.traits.get(trait.toLowerCase());
    if (!markers) return null;
    const toks = lexiconTokenize(answer);
    let total = 0;
    for (const { tokens, weight } of markers) {
      const n = tokens.length;
      for (let i = 0; i + n <= toks.length; i++) {
        let ok = true;
        for (let j = 0; j < n; j++) {
          if (toks[i + j] !== tokens[j]) {
            ok = false;
            break;
          }
        }
        if (ok) {
          total += weight;
          break;
        }
      }
    }
    return Math.min(100, total * this.data.pointsPerWeight);
  }

  /** Coherence 0–100 (see the module comment). */
  coherence(answer: string): number {
    const c = this.data.coherence;
    const specials = (answer.match(SPECIAL_RE) ?? []).length;
    const toks = lexiconTokenize(answer.replace(SPECIAL_RE, ' '));
    const words = toks.filter((t) => WORD_RE.test(t));
    if (words.length === 0 && specials === 0) return 0;
    let pen = 0;
    let unknown = specials;
    if (this.vocabulary) for (const w of words) if (!this.vocabulary.has(w)) unknown++;
    pen += c.unknownToken * unknown;
    let adjacent = 0;
    for (let i = 1; i < toks.length; i++) if (toks[i] === toks[i - 1]) adjacent++;
    pen += c.adjacentRepeat * adjacent;
    const seen = new Set<string>();
    let rep = 0;
    for (let i = 0; i + c.ngram <= toks.length; i++) {
      const g = toks.slice(i, i + c.ngram).join('\u0001');
      if (seen.has(g)) rep++;
      seen.add(g);
    }
    pen += c.repeatedNgram * Math.max(0, rep - c.allowedRepeats);
    if (toks.length === 0 || !this.terminal.has(toks[toks.length - 1])) pen += c.truncated;
    if (words.length < c.minWords) pen += c.tooShort;
    let run = 0;
    for (const t of toks) {
      if (this.terminal.has(t)) run = 0;
      else if (WORD_RE.test(t)) {
        run++;
        if (run === c.maxSentenceWords + 1) pen += c.longSentence;
      }
    }
    if (words.length >= c.functionWordMinWords) {
      const [num, den] = c.functionWordMinRatio;
      let fw = 0;
      for (const w of words) if (this.functionWords.has(w)) fw++;
      if (fw * den < words.length * num) pen += c.lowFunctionWords;
    }
    if (words.length >= c.diversityMinWords) {
      const [num, den] = c.diversityMinRatio;
      if (new Set(words).size * den < words.length * num) pen += c.lowDiversity;
    }
    return Math.max(0, 100 - pen);
  }

  async score(request: JudgeRequest, signal?: AbortSignal): Promise<JudgeScore> {
    signal?.throwIfAborted();
    return {
      trait: this.traitScore(request.trait.name, request.answer),
      coherence: this.coherence(request.answer),
    };
  }
}
