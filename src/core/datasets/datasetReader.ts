/**
 * Streams a dataset file as samples with their line ranges: JSONL one line at a time (bounded memory for any
 * length), JSON arrays by scanning for top-level elements. Malformed lines and unknown shapes come out as
 * issues on their line; the rest still runs.
 */
import { createReadStream, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { createHash } from 'node:crypto';
import { turnsOf, type SampleFormat, type ScoredTurn, type TurnSelection } from './sampleShapes';

export interface DatasetSample extends ScoredTurn {
  /** 0-based sample index in the file. */
  index: number;
  /** 1-based line range of the sample in the file. */
  startLine: number;
  endLine: number;
  format: SampleFormat;
  /** Hash of the scored content (prompt + response): the cache key, stable across edits elsewhere in the file. */
  hash: string;
}

export interface DatasetIssue {
  kind: 'issue';
  startLine: number;
  endLine: number;
  message: string;
}

export type DatasetItem = ({ kind: 'sample' } & DatasetSample) | DatasetIssue;

export interface ReadOptions {
  turns?: TurnSelection;
  /** Only samples overlapping these 1-based lines (a selection). */
  lineRange?: { start: number; end: number };
}

export function sampleHash(turn: ScoredTurn): string {
  return createHash('sha256').update(JSON.stringify([turn.prompt, turn.response])).digest('hex').slice(0, 24);
}

function* itemsOf(value: unknown, index: number, startLine: number, endLine: number, turns: TurnSelection): Generator<DatasetItem> {
  try {
    const { format, turns: scored } = turnsOf(value, turns);
    for (const t of scored) yield { kind: 'sample', ...t, index, startLine, endLine, format, hash: sampleHash(t) };
  } catch (err) {
    yield { kind: 'issue', startLine, endLine, message: (err as Error).message };
  }
}

/** Parses one sample's JSON text; a syntax error becomes an issue on its lines ({error} in the message). */
function* parsedItems(json: string, index: number, startLine: number, endLine: number, options: ReadOptions, syntaxMessage: string): Generator<DatasetItem> {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (err) {
    yield { kind: 'issue', startLine, endLine, message: syntaxMessage.replace('{error}', (err as Error).message) };
    return;
  }
  yield* itemsOf(value, index, startLine, endLine, options.turns ?? 'last');
}

/**
 * Longest sample text read: far past any model's context (about 250k tokens), so a longer line is a mistake (a
 * whole file on one line, binary data) and is refused by size before the tokenizer spends seconds on it.
 */
export const MAX_SAMPLE_CHARS = 1_000_000;

const tooLong = (chars: number) => `this sample is ${(chars / 1e6).toFixed(1)} M characters, over the ${MAX_SAMPLE_CHARS / 1e6} M limit of one sample: skipped (is it a whole file on one line?)`;

const overlaps = (o: ReadOptions, start: number, end: number) => !o.lineRange || (end >= o.lineRange.start && start <= o.lineRange.end);

/** A line whose bytes are not UTF-8: reported on its line, never decoded with silent replacement characters. */
export interface UndecodableLine {
  undecodable: true;
}

const NOT_UTF8 = 'this line holds bytes that are not UTF-8 (a file saved in another encoding?): re-save the file as UTF-8';

/** Reads JSONL (.jsonl/.ndjson) as a stream, or a JSON array (.json) whole. */
export async function* readDataset(path: string, options: ReadOptions = {}): AsyncGenerator<DatasetItem> {
  if (path.endsWith('.json')) {
    const bytes = readFileSync(path);
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      const line = firstUndecodableLine(bytes);
      yield { kind: 'issue', startLine: line, endLine: line, message: NOT_UTF8.replace('this line holds', 'the file holds') };
      return;
    }
    yield* readJsonArray(text, options);
    return;
  }
  yield* readJsonLines(utf8Lines(path), options);
}

/** The file's lines, each decoded strictly (a bad line becomes an UndecodableLine, the rest still reads). */
async function* utf8Lines(path: string): AsyncGenerator<string | UndecodableLine> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  // latin1 maps bytes 1:1 to code units, so readline splits lines without decoding; each line is decoded here.
  for await (const raw of createInterface({ input: createReadStream(path, { encoding: 'latin1' }), crlfDelay: Infinity })) {
    try {
      yield decoder.decode(Buffer.from(raw, 'latin1'));
    } catch {
      yield { undecodable: true };
    }
  }
}

function firstUndecodableLine(bytes: Uint8Array): number {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let line = 1;
  let start = 0;
  for (let i = 0; i <= bytes.length; i++) {
    if (i < bytes.length && bytes[i] !== 0x0a) continue;
    try {
      decoder.decode(bytes.subarray(start, i));
    } catch {
      return line;
    }
    line++;
    start = i + 1;
  }
  return 1;
}

/** JSONL from any line source (a file stream, or an editor's text split into lines). */
export async function* readJsonLines(lines: AsyncIterable<string | UndecodableLine> | Iterable<string | UndecodableLine>, options: ReadOptions = {}): AsyncGenerator<DatasetItem> {
  let lineNo = 0;
  let index = 0;
  for await (const raw of lines) {
    lineNo++;
    if (typeof raw !== 'string') {
      if (overlaps(options, lineNo, lineNo)) yield { kind: 'issue', startLine: lineNo, endLine: lineNo, message: NOT_UTF8 };
      index++;
      continue;
    }
    const line = raw.trim();
    if (!line) continue;
    if (line.length > MAX_SAMPLE_CHARS) {
      if (overlaps(options, lineNo, lineNo)) yield { kind: 'issue', startLine: lineNo, endLine: lineNo, message: tooLong(line.length) };
      index++;
      continue;
    }
    if (overlaps(options, lineNo, lineNo)) yield* parsedItems(line, index, lineNo, lineNo, options, 'not valid JSON ({error}); fix or remove this line');
    index++;
  }
}

/** A JSON array of samples: finds each top-level element's text and line range with a small scanner. */
export function* readJsonArray(text: string, options: ReadOptions = {}): Generator<DatasetItem> {
  let i = 0;
  let line = 1;
  const skipSpace = () => {
    while (i < text.length && /\s/.test(text[i])) {
      if (text[i] === '\n') line++;
      i++;
    }
  };
  skipSpace();
  if (text[i] !== '[') {
    yield { kind: 'issue', startLine: line, endLine: line, message: 'a .json dataset must be a JSON array of samples (use .jsonl for one sample per line)' };
    return;
  }
  i++;
  let index = 0;
  for (;;) {
    skipSpace();
    if (i >= text.length) {
      yield { kind: 'issue', startLine: line, endLine: line, message: 'the array is not closed with "]" (truncated file?)' };
      return;
    }
    if (text[i] === ']') return;
    const start = i;
    const startLine = line;
    let depth = 0;
    let inString = false;
    for (; i < text.length; i++) {
      const c = text[i];
      if (c === '\n') line++;
      if (inString) {
        if (c === '\\') i++;
        else if (c === '"') inString = false;
        continue;
      }
      if (c === '"') inString = true;
      else if (c === '{' || c === '[') depth++;
      else if (c === '}' || c === ']') {
        if (depth === 0) break;
        depth--;
      } else if (c === ',' && depth === 0) break;
    }
    const slice = text.slice(start, i).trim();
    const endLine = startLine + (slice.match(/\n/g)?.length ?? 0);
    if (text[i] === ',') i++;
    if (slice.length > MAX_SAMPLE_CHARS) {
      if (overlaps(options, startLine, endLine)) yield { kind: 'issue', startLine, endLine, message: tooLong(slice.length) };
    } else if (overlaps(options, startLine, endLine)) yield* parsedItems(slice, index, startLine, endLine, options, `element ${index} is not valid JSON ({error})`);
    index++;
  }
}
