/**
 * Persona Lens's native vector file: safetensors with one [layers+1, d] F32 tensor per activation variant
 * (response_avg is the persona vector; prompt_avg and prompt_last are the paper's alternatives), the residual
 * norm per row, and string metadata recording where the vector came from and how to use it.
 */
import { readSafetensorsHeader, readTensorBytes, toFloat32, writeSafetensors } from '../model/safetensors';
import { finiteVector } from './vectorFile';
import { ACTIVATION_VARIANTS, type ActivationVariant } from '../extraction/activationStats';
import type { ExtractionResult } from '../extraction/extract';
import { summarizeCell } from '../extraction/steeringSweep';
import { VERSION } from '../version';

export interface PersonaVectorMetadata {
  format: 'persona-lens/vector@1';
  trait: string;
  traitHash: string;
  model: string;
  modelFingerprint: string;
  architecture: string;
  method: string;
  recommendedLayer?: number;
  recommendedCoefficient?: number;
  keptPairs: number;
  totalPairs: number;
  judge: string;
  created: string;
  toolVersion: string;
  /** JSON: per-row separation statistics. */
  separation?: string;
  /** JSON: layer search [{row, coefficient, meanTrait, meanCoherence, relativeStrength, control, suppressed}]. */
  sweep?: string;
  /** JSON: the layer search's unsteered reference points {baseline, elicited}. */
  sweepBaseline?: string;
  /** JSON: SteeringValidation at the recommendation (dose–response + random control, suppression). */
  validation?: string;
  /** JSON: VectorCalibration at the recommended layer (screening/calibration.ts). */
  calibration?: string;
}

export interface PersonaVectorFile {
  rows: number;
  d: number;
  vectors: Partial<Record<ActivationVariant, Float32Array>>;
  residualNorms?: Float32Array;
  metadata: Partial<PersonaVectorMetadata> & Record<string, string | number | undefined>;
}

export function writePersonaVector(
  path: string,
  result: ExtractionResult,
  info: { model: string; modelFingerprint: string; architecture: string; traitHash: string },
): void {
  const metadata: PersonaVectorMetadata = {
    format: 'persona-lens/vector@1',
    trait: result.trait,
    traitHash: info.traitHash,
    model: info.model,
    modelFingerprint: info.modelFingerprint,
    architecture: info.architecture,
    method: 'mean difference of response-averaged residuals (pos − neg), Chen et al. 2025',
    recommendedLayer: result.recommended?.layer,
    recommendedCoefficient: result.recommended?.coefficient,
    keptPairs: result.keptPairs,
    totalPairs: result.totalPairs,
    judge: result.judge,
    created: new Date().toISOString(),
    toolVersion: VERSION,
    separation: JSON.stringify(result.separation),
    sweep: JSON.stringify(result.sweep.map(summarizeCell)),
    sweepBaseline: result.sweepBaseline && JSON.stringify(result.sweepBaseline),
    validation: result.validation && JSON.stringify(result.validation),
    calibration: result.calibration && JSON.stringify(result.calibration),
  };
  writeSafetensors(
    path,
    [
      ...ACTIVATION_VARIANTS.map((v) => ({ name: v, dtype: 'F32' as const, shape: [result.rows, result.d], data: result.vectors[v] })),
      { name: 'residual_norm', dtype: 'F32', shape: [result.rows], data: result.residualNorms },
    ],
    Object.fromEntries(Object.entries(metadata).filter(([, v]) => v !== undefined).map(([k, v]) => [k, String(v)])),
  );
}

export function readPersonaVector(path: string): PersonaVectorFile {
  const header = readSafetensorsHeader(path);
  const vectors: PersonaVectorFile['vectors'] = {};
  let rows = 0;
  let d = 0;
  for (const variant of ACTIVATION_VARIANTS) {
    const info = header.tensors.get(variant);
    if (!info) continue;
    if (info.shape.length !== 2) throw new Error(`${path}: tensor "${variant}" must be [layers+1, d], got [${info.shape}]`);
    [rows, d] = info.shape;
    vectors[variant] = finiteVector(toFloat32(readTensorBytes(path, info), info.dtype), path, variant);
  }
  if (!vectors.response_avg) throw new Error(`${path}: not a Persona Lens vector file (no "response_avg" tensor); for a single steering tensor use it directly with --steer`);
  const normInfo = header.tensors.get('residual_norm');
  const metadata: PersonaVectorFile['metadata'] = { ...header.metadata };
  for (const key of ['recommendedLayer', 'recommendedCoefficient', 'keptPairs', 'totalPairs'] as const) if (metadata[key] !== undefined) metadata[key] = Number(metadata[key]);
  return { rows, d, vectors, residualNorms: normInfo ? toFloat32(readTensorBytes(path, normInfo), normInfo.dtype) : undefined, metadata };
}
