/**
 * Reading a steering vector from safetensors: one float tensor of shape [d] or [layers+1, d], checked against the
 * model's dimensions with a message that says what to do.
 */
import { firstNonFinite, readSafetensorsHeader, readTensorBytes, toFloat32 } from '../model/safetensors';

export interface SteeringVectorFile {
  /** [rows·d] when `rows` > 1, else [d]. */
  data: Float32Array;
  rows: number;
  d: number;
  tensorName: string;
  metadata: Record<string, string>;
}

export function readSteeringVector(path: string, tensorName?: string): SteeringVectorFile {
  const header = readSafetensorsHeader(path);
  const floats = [...header.tensors.values()].filter((t) => ['F32', 'F16', 'BF16', 'F64'].includes(t.dtype));
  // A Persona Lens vector file holds several variants: the persona vector proper is response_avg.
  const chosen = tensorName ? header.tensors.get(tensorName) : floats.length === 1 ? floats[0] : header.tensors.get('response_avg');
  if (!chosen) {
    const names = floats.map((t) => t.name).join(', ') || 'none';
    throw new Error(`${path}: ${tensorName ? `has no tensor "${tensorName}"` : 'must hold exactly one float tensor'} (float tensors: ${names})`);
  }
  if (chosen.shape.length !== 1 && chosen.shape.length !== 2) throw new Error(`${path}: tensor "${chosen.name}" has shape [${chosen.shape}]; expected [d] or [layers+1, d]`);
  const data = finiteVector(toFloat32(readTensorBytes(path, chosen), chosen.dtype), path, chosen.name);
  const [rows, d] = chosen.shape.length === 1 ? [1, chosen.shape[0]] : chosen.shape;
  return { data, rows, d, tensorName: chosen.name, metadata: header.metadata };
}

/** The [d] slice to add at residual row `layer`, checked against the model. */
export function vectorForLayer(vector: SteeringVectorFile, layer: number, modelRows: number, modelD: number, path = 'vector'): Float32Array {
  if (vector.d !== modelD) throw new Error(`${path}: vector width ${vector.d} does not match the model's hidden size ${modelD}; was it extracted from another model?`);
  if (vector.rows === 1) return vector.data;
  if (vector.rows !== modelRows) throw new Error(`${path}: vector has ${vector.rows} rows but the model has ${modelRows} (layers+1); was it extracted from another model?`);
  if (!Number.isInteger(layer) || layer < 0 || layer >= modelRows) throw new RangeError(`layer ${layer} is outside 0–${modelRows - 1}`);
  return vector.data.slice(layer * modelD, (layer + 1) * modelD);
}

/** A vector with NaN or Inf steers every answer to nothing and scores every sample NaN: refused when read. */
export function finiteVector(data: Float32Array, path: string, tensor: string): Float32Array {
  const at = firstNonFinite(data);
  if (at >= 0) throw new RangeError(`${path}: tensor "${tensor}" holds ${data[at]} at element ${at}; a vector must be finite (re-extract or re-export it)`);
  return data;
}
