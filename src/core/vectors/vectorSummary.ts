/** What the panel shows about a vector file: per-layer separation, norms, the layer search and its validation. */
import * as path from 'node:path';
import { readPersonaVector } from './personaVectorFile';
import { rowNorms } from '../extraction/activationStats';
import type { LayerSeparation } from '../extraction/extract';
import type { SteeringValidation } from '../extraction/layerSearch';
import type { SweepSummary } from '../extraction/steeringSweep';

export interface VectorSummary {
  path: string;
  trait: string;
  model: string;
  rows: number;
  d: number;
  recommendedLayer?: number;
  recommendedCoefficient?: number;
  keptPairs?: number;
  totalPairs?: number;
  judge?: string;
  separation: LayerSeparation[];
  vectorNorms: number[];
  residualNorms: number[];
  sweep: SweepSummary[];
  /** The recommendation's dose–response (with its random control) and suppression, when extraction validated it. */
  validation?: SteeringValidation;
}

export function summarizeVectorFile(file: string): VectorSummary {
  const v = readPersonaVector(file);
  const parse = <T>(text: unknown, fallback: T): T => {
    try {
      return typeof text === 'string' ? (JSON.parse(text) as T) : fallback;
    } catch {
      return fallback;
    }
  };
  return {
    path: file,
    trait: String(v.metadata.trait ?? path.basename(file, '.safetensors')),
    model: String(v.metadata.model ?? ''),
    rows: v.rows,
    d: v.d,
    recommendedLayer: v.metadata.recommendedLayer as number | undefined,
    recommendedCoefficient: v.metadata.recommendedCoefficient as number | undefined,
    keptPairs: v.metadata.keptPairs as number | undefined,
    totalPairs: v.metadata.totalPairs as number | undefined,
    judge: v.metadata.judge as string | undefined,
    separation: parse<LayerSeparation[]>(v.metadata.separation, []),
    vectorNorms: Array.from(rowNorms(v.vectors.response_avg!, v.rows, v.d)),
    residualNorms: v.residualNorms ? Array.from(v.residualNorms) : [],
    sweep: parse(v.metadata.sweep, []),
    validation: parse<SteeringValidation | undefined>(v.metadata.validation, undefined),
  };
}
