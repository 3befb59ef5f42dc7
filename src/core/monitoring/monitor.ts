/**
 * The live monitor: a text as the user's prompt (one chat turn with the generation prompt), one forward pass, then
 * the projection of the last prompt token on every vector at its recommended layer (Chen et al. 2025, §4: it predicts
 * how strongly the model is about to show the trait) and per-token projections on one chosen vector (the heat map).
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import type { LoadedModel } from '../model/loadedModel';
import { loadTraitVector } from '../vectors/traitVector';
import { tokenPieces, tokenProjections } from './tokenProjections';

export interface MonitorRequest {
  text: string;
  vectorPaths: string[];
  /** The vector whose per-token projections are returned (the heat map); one of vectorPaths. */
  heatmapVector?: string;
  /** Longest prompt kept, in tokens; longer prompts keep their end (the last prompt token is what is read). */
  maxTokens?: number;
}

/**
 * Where the extraction's own prompts sat on this vector (its calibration): the median last-prompt-token projection
 * under the anti-eliciting and under the eliciting system prompts. A fixed, labelled scale for every text.
 */
export interface MonitorReference {
  antiEliciting: number;
  eliciting: number;
}

export interface MonitorProjection {
  vectorPath: string;
  trait: string;
  layer: number;
  /** Last prompt token · v̂. */
  value: number;
  /** Absent for a vector file without calibration. */
  reference?: MonitorReference;
}

export interface MonitorResult {
  /** Text piece of every prompt token (chat template tokens included: they are what the model reads). */
  tokens: string[];
  /** Tokens dropped from the start to fit maxTokens. */
  truncated: number;
  projections: MonitorProjection[];
  heatmap?: { vectorPath: string; trait: string; layer: number; values: number[]; reference?: MonitorReference };
  /** Vectors that could not be read for this model, with the reason. */
  skipped: { vectorPath: string; message: string }[];
}

export const MONITOR_MAX_TOKENS = 1024;

export async function monitorText(model: LoadedModel, request: MonitorRequest): Promise<MonitorResult> {
  if (typeof request.text !== 'string' || !request.text.trim()) throw new RangeError('there is no text to monitor');
  const { tokenizer, session } = model;
  const rows = session.rows;
  const d = model.checkpoint.spec.hiddenSize;
  const all = tokenizer.hasChatTemplate ? tokenizer.chat([{ role: 'user', content: request.text }], true) : tokenizer.encode(request.text);
  const max = request.maxTokens ?? MONITOR_MAX_TOKENS;
  const ids = all.length > max ? all.slice(all.length - max) : all;

  const vectors: { vectorPath: string; trait: string; layer: number; direction: Float32Array; reference?: MonitorReference }[] = [];
  const skipped: MonitorResult['skipped'] = [];
  for (const vectorPath of request.vectorPaths) {
    try {
      if (!existsSync(vectorPath)) throw new Error(`${path.basename(vectorPath)} does not exist (moved or deleted?)`);
      // The recommended layer of the extraction, like screening (a vector without one is reported, not guessed).
      const v = loadTraitVector(vectorPath, rows, d);
      const monitor = v.calibration?.monitor;
      const reference = monitor && { antiEliciting: monitor.antiEliciting.quantiles[50], eliciting: monitor.eliciting.quantiles[50] };
      vectors.push({ vectorPath, trait: v.name, layer: v.layer, direction: v.direction, reference });
    } catch (err) {
      skipped.push({ vectorPath, message: (err as Error).message });
    }
  }

  const tokens = tokenPieces(ids, (x) => tokenizer.decode(x, false));
  if (!vectors.length) return { tokens, truncated: all.length - ids.length, projections: [], skipped };
  const out = await session.forward({ tokens: [ids], captureRows: [...new Set(vectors.map((v) => v.layer))], logits: 'none' });
  const projections: MonitorProjection[] = [];
  let heatmap: MonitorResult['heatmap'];
  for (const v of vectors) {
    let values: number[];
    try {
      values = tokenProjections(out.hidden.get(v.layer)!, ids.length, d, v.direction);
    } catch (err) {
      skipped.push({ vectorPath: v.vectorPath, message: (err as Error).message });
      continue;
    }
    projections.push({ vectorPath: v.vectorPath, trait: v.trait, layer: v.layer, value: values[values.length - 1], ...(v.reference ? { reference: v.reference } : {}) });
    if (v.vectorPath === request.heatmapVector) heatmap = { vectorPath: v.vectorPath, trait: v.trait, layer: v.layer, values, ...(v.reference ? { reference: v.reference } : {}) };
  }
  return { tokens, truncated: all.length - ids.length, projections, heatmap, skipped };
}
