/**
 * A trait direction for reading activations (screening, monitoring, finetuning shift): from a Persona Lens
 * vector file (its trait name and recommended layer) or any plain steering tensor ([d] or [layers+1, d]).
 */
import * as path from 'node:path';
import { readSafetensorsHeader } from '../model/safetensors';
import { readPersonaVector } from './personaVectorFile';
import { readSteeringVector, vectorForLayer, type SteeringVectorFile } from './vectorFile';
import { parseCalibration, type VectorCalibration } from '../screening/calibration';

/** The file's calibration; `damaged` when it has one that does not parse (it is then not trusted, and said so). */
function readCalibration(json: string | undefined): { calibration?: VectorCalibration; damaged?: boolean } {
  if (!json) return {};
  let calibration: VectorCalibration | undefined;
  try {
    calibration = parseCalibration(JSON.parse(json));
  } catch {
    calibration = undefined;
  }
  return calibration ? { calibration } : { damaged: true };
}

export interface TraitVector {
  /** Trait name (the key in results). */
  name: string;
  /** Residual row to read. */
  layer: number;
  /** [d] direction at that row (any norm; users normalise). */
  direction: Float32Array;
  /** The direction at row r (a [d] file uses the same direction at every row). */
  atRow(row: number): Float32Array;
  /** The extraction's recommended steering coefficient, when the file records one. */
  recommendedCoefficient?: number;
  file: string;
  /** Where the file says it was extracted (Persona Lens vector files record it). */
  source?: { modelFingerprint?: string; architecture?: string; model?: string };
  /** The extraction's calibration, when the file has one measured at this vector's layer (screening/calibration.ts). */
  calibration?: VectorCalibration;
  /** Why there is no calibration, for the notice a screening summary gives. */
  calibrationMissing?: string;
}

/** A warning when a vector was extracted on other weights than the model it is used with (or undefined). */
export function vectorModelMismatch(vector: Pick<TraitVector, 'file' | 'source'>, model: { fingerprint: string; architecture: string }): string | undefined {
  const s = vector.source;
  if (!s) return undefined;
  if (s.architecture && s.architecture !== model.architecture) return `${vector.file} was extracted on a ${s.architecture} model (${s.model ?? 'unknown'}), not this ${model.architecture} model: its direction is unlikely to mean anything here`;
  if (s.modelFingerprint && s.modelFingerprint !== model.fingerprint) return `${vector.file} was extracted on other weights (${s.model ?? 'unknown'}, fingerprint ${s.modelFingerprint}; this model is ${model.fingerprint}): scores are comparable only if the weights are the same model`;
  return undefined;
}

/**
 * Whether a vector was extracted on this model: 'same' when its fingerprint is the model's as it runs now,
 * 'other precision' when the same checkpoint ran at another weight precision (runFingerprint's suffix), else
 * undefined (other weights, an adapter, or no fingerprint).
 */
export function vectorModelFit(vectorFingerprint: string | undefined, modelFingerprint: string): 'same' | 'other precision' | undefined {
  if (!vectorFingerprint) return undefined;
  if (vectorFingerprint === modelFingerprint) return 'same';
  const checkpointOf = (fingerprint: string) => (fingerprint.includes('-lora-') ? undefined : fingerprint.replace(/-(int8|int4)(-q\d+)?$/, ''));
  const checkpoint = checkpointOf(vectorFingerprint);
  return checkpoint !== undefined && checkpoint === checkpointOf(modelFingerprint) ? 'other precision' : undefined;
}

export function loadTraitVector(file: string, modelRows: number, modelD: number, layerOverride?: number): TraitVector {
  const header = readSafetensorsHeader(file);
  let vector: SteeringVectorFile;
  let name = path.basename(file, '.safetensors');
  let layer = layerOverride;
  let recommendedCoefficient: number | undefined;
  let source: TraitVector['source'];
  let calibration: VectorCalibration | undefined;
  let calibrationMissing: string | undefined = `${path.basename(file)} is a plain steering tensor, without the calibration Persona Lens vector files carry`;
  if (header.tensors.has('response_avg')) {
    const pv = readPersonaVector(file);
    layer ??= pv.metadata.recommendedLayer as number | undefined;
    if (layer === undefined) throw new Error(`${file} has no recommended layer (extracted without a sweep): pass a layer`);
    name = String(pv.metadata.trait ?? name);
    recommendedCoefficient = pv.metadata.recommendedCoefficient as number | undefined;
    const meta = pv.metadata as Record<string, unknown>;
    const text = (key: string) => (typeof meta[key] === 'string' ? (meta[key] as string) : undefined);
    source = { modelFingerprint: text('modelFingerprint'), architecture: text('architecture'), model: text('model') };
    const read = readCalibration(text('calibration'));
    calibration = read.calibration;
    calibrationMissing = read.damaged
      ? `${path.basename(file)} carries a calibration that cannot be read (damaged, or from another Persona Lens version): re-extract it for a calibrated threshold`
      : !calibration
      ? `${path.basename(file)} has no calibration (extracted before Persona Lens calibrated thresholds, or without a layer search): re-extract it for a calibrated threshold`
      : calibration.layer !== layer
        ? `${path.basename(file)} is calibrated at row ${calibration.layer}, not the row ${layer} screened here`
        : undefined;
    if (calibrationMissing) calibration = undefined;
    vector = { data: pv.vectors.response_avg!, rows: pv.rows, d: pv.d, tensorName: 'response_avg', metadata: {} };
  } else {
    if (layer === undefined) throw new Error(`${file} is a plain steering tensor: pass the layer to read`);
    vector = readSteeringVector(file);
  }
  const direction = vectorForLayer(vector, layer, modelRows, modelD, file);
  return { name, layer, direction, atRow: (row) => vectorForLayer(vector, row, modelRows, modelD, file), recommendedCoefficient, file, source, calibration, calibrationMissing };
}
