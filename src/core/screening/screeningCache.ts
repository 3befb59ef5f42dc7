/**
 * Screening results cached on disk per model: metric values per (sample content hash, vector hash, layer; for the
 * metrics read against the model's own answer, also that answer's length limit) and the
 * model's own greedy responses per prompt. Re-screening an edited file recomputes only the changed samples, and
 * reopening a file restores its scores at once.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

export interface CachedMetrics {
  projection: number;
  fastDelta: number;
  delta?: number;
  /** Token ΔP pooled (metrics.ts), with the response-token indices of the top k; only with the own answer. */
  tokenMean?: number;
  tokenMax?: number;
  tokenTopK?: number;
  peak?: number[];
}

/** What one cache record holds: the plain metrics and the own-answer metrics are kept under separate keys. */
export type CachedMetricsPart = Partial<CachedMetrics>;

export interface CachedResponse {
  text: string;
  ids: number[];
}

export class ScreeningCache {
  private readonly metrics = new Map<string, CachedMetricsPart>();
  private readonly responses = new Map<string, CachedResponse>();
  private readonly metricsFile: string;
  private readonly responsesFile: string;

  constructor(cacheRoot: string, modelFingerprint: string) {
    const folder = path.join(cacheRoot, 'screening', modelFingerprint);
    mkdirSync(folder, { recursive: true });
    this.metricsFile = path.join(folder, 'metrics.jsonl');
    this.responsesFile = path.join(folder, 'responses.jsonl');
    for (const [k, v] of readLines<[string, CachedMetricsPart]>(this.metricsFile)) this.metrics.set(k, { ...this.metrics.get(k), ...v });
    for (const [k, v] of readLines<[string, CachedResponse]>(this.responsesFile)) this.responses.set(k, v);
  }

  metric(key: string): CachedMetricsPart | undefined {
    return this.metrics.get(key);
  }

  setMetric(key: string, value: CachedMetricsPart): void {
    this.metrics.set(key, value);
    appendFileSync(this.metricsFile, JSON.stringify([key, value]) + '\n');
  }

  response(key: string): CachedResponse | undefined {
    return this.responses.get(key);
  }

  setResponse(key: string, value: CachedResponse): void {
    this.responses.set(key, value);
    appendFileSync(this.responsesFile, JSON.stringify([key, value]) + '\n');
  }
}

function readLines<T>(file: string): T[] {
  if (!existsSync(file)) return [];
  const out: T[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line) continue;
    try {
      out.push(JSON.parse(line));
    } catch {
      // a torn last line from an interrupted run
    }
  }
  return out;
}
