/** Loads screening vectors from files: a Persona Lens vector (its trait name and recommended layer) or any steering tensor. */
import * as path from 'node:path';
import { readSafetensorsHeader } from '../model/safetensors';
import { readPersonaVector } from '../vectors/personaVectorFile';
import { readSteeringVector, vectorForLayer } from '../vectors/vectorFile';
import type { ScreeningVector } from './screener';

export function loadScreeningVector(file: string, modelRows: number, modelD: number, layerOverride?: number): ScreeningVector {
  const header = readSafetensorsHeader(file);
  if (header.tensors.has('response_avg')) {
    const pv = readPersonaVector(file);
    const layer = layerOverride ?? (pv.metadata.recommendedLayer as number | undefined);
    if (layer === undefined) throw new Error(`${file} has no recommended layer (extracted without a sweep): pass a layer`);
    const direction = vectorForLayer({ data: pv.vectors.response_avg!, rows: pv.rows, d: pv.d, tensorName: 'response_avg', metadata: {} }, layer, modelRows, modelD, file);
    return { name: String(pv.metadata.trait ?? path.basename(file, '.safetensors')), layer, direction };
  }
  if (layerOverride === undefined) throw new Error(`${file} is a plain steering tensor: pass the layer to read`);
  const sv = readSteeringVector(file);
  return { name: path.basename(file, '.safetensors'), layer: layerOverride, direction: vectorForLayer(sv, layerOverride, modelRows, modelD, file) };
}
