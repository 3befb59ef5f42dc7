/**
 * On-disk cache of an extraction run, keyed by model fingerprint + trait hash: rollouts, judge scores and
 * per-rollout activations, and the judged means of steered generations (layer search and validation). Appends as it
 * goes, so a cancelled or crashed run resumes where it stopped, and changing a threshold or the sweep re-uses every
 * rollout and steering cell already made.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { writeFileAtomic } from '../io/userFiles';
import * as path from 'node:path';
import type { ConversationActivations } from './activationStats';
import { ACTIVATION_VARIANTS } from './activationStats';

export interface RolloutRecord {
  key: string;
  question: string;
  system?: string;
  promptIds: number[];
  responseIds: number[];
  text: string;
}

export interface ScoreRecord {
  key: string;
  judge: string;
  trait: number | null;
  coherence: number | null;
}

/** Judged means of one steered generation batch; the key digests everything that produced it. */
export interface SteeringCellRecord {
  key: string;
  meanTrait: number;
  meanCoherence: number;
}

export class ExtractionStore {
  readonly folder: string;
  private rollouts = new Map<string, RolloutRecord>();
  private scores = new Map<string, ScoreRecord>();
  private steering = new Map<string, SteeringCellRecord>();

  /** `log` hears about cache entries found corrupt and discarded (they are then recomputed). */
  constructor(cacheRoot: string, modelFingerprint: string, traitHash: string, private readonly log: (line: string) => void = () => {}) {
    this.folder = path.join(cacheRoot, 'extraction', `${modelFingerprint}-${traitHash}`);
    mkdirSync(path.join(this.folder, 'acts'), { recursive: true });
    for (const r of readJsonLines<RolloutRecord>(path.join(this.folder, 'rollouts.jsonl'))) this.rollouts.set(r.key, r);
    for (const s of readJsonLines<ScoreRecord>(path.join(this.folder, 'scores.jsonl'))) this.scores.set(`${s.judge}\0${s.key}`, s);
    for (const c of readJsonLines<SteeringCellRecord>(path.join(this.folder, 'steering.jsonl')))
      if (typeof c?.key === 'string' && Number.isFinite(c.meanTrait) && Number.isFinite(c.meanCoherence)) this.steering.set(c.key, c); // else: re-measured
  }

  steeringCell(key: string): SteeringCellRecord | undefined {
    return this.steering.get(key);
  }

  addSteeringCell(record: SteeringCellRecord): void {
    this.steering.set(record.key, record);
    appendFileSync(path.join(this.folder, 'steering.jsonl'), JSON.stringify(record) + '\n');
  }

  rollout(key: string): RolloutRecord | undefined {
    return this.rollouts.get(key);
  }

  addRollout(record: RolloutRecord): void {
    this.rollouts.set(record.key, record);
    appendFileSync(path.join(this.folder, 'rollouts.jsonl'), JSON.stringify(record) + '\n');
  }

  score(judge: string, key: string): ScoreRecord | undefined {
    return this.scores.get(`${judge}\0${key}`);
  }

  addScore(record: ScoreRecord): void {
    this.scores.set(`${record.judge}\0${record.key}`, record);
    appendFileSync(path.join(this.folder, 'scores.jsonl'), JSON.stringify(record) + '\n');
  }

  activations(key: string, rows: number, d: number): ConversationActivations | undefined {
    const file = this.actsPath(key);
    if (!existsSync(file)) return undefined;
    const buf = readFileSync(file);
    const block = rows * d;
    const expected = (ACTIVATION_VARIANTS.length * block + rows) * 4;
    // A truncated file (a crash mid-write before writes were atomic, a full disk) or another model's shape.
    if (buf.byteLength !== expected) {
      this.log(`cache: discarded ${file} (${buf.byteLength} bytes, expected ${expected}); recomputing it`);
      rmSync(file, { force: true });
      return undefined;
    }
    const all = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
    if (!all.every(Number.isFinite)) {
      this.log(`cache: discarded ${file} (non-finite values); recomputing it`);
      rmSync(file, { force: true });
      return undefined;
    }
    const means = Object.fromEntries(ACTIVATION_VARIANTS.map((v, i) => [v, all.slice(i * block, (i + 1) * block)])) as ConversationActivations['means'];
    return { means, responseNorms: all.slice(ACTIVATION_VARIANTS.length * block) };
  }

  addActivations(key: string, acts: ConversationActivations): void {
    const parts = [...ACTIVATION_VARIANTS.map((v) => acts.means[v]), acts.responseNorms];
    const total = parts.reduce((n, p) => n + p.length, 0);
    const all = new Float32Array(total);
    let o = 0;
    for (const p of parts) {
      all.set(p, o);
      o += p.length;
    }
    const file = this.actsPath(key);
    writeFileAtomic(file, new Uint8Array(all.buffer));
  }

  private actsPath(key: string): string {
    return path.join(this.folder, 'acts', `${key.replace(/[^\w.-]/g, '_')}.f32`);
  }
}

/** Reads JSON lines, skipping a torn last line left by a crash mid-write. */
function readJsonLines<T>(file: string): T[] {
  if (!existsSync(file)) return [];
  const out: T[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as T);
    } catch {
      // torn write from an interrupted run: that item is simply redone
    }
  }
  return out;
}
