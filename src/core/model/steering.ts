/**
 * Steering and ablation requests, turned into the per-row tensors the decoder graph takes.
 * Row r is the residual stream after block r (row 0: embeddings), in HF hidden_states numbering.
 */
export type SteerPositions = 'all' | 'prompt' | 'generated';

export interface Steering {
  /** Either [d] (used at every listed row) or [rows·d] (row r uses its own slice). */
  vector: Float32Array;
  /** Residual rows to act on (1 … L for block outputs; 0 for the embeddings). */
  rows: number[];
  /** add: h += coefficient·v; ablate: h −= (h·v̂)v̂ (coefficient ignored). */
  mode?: 'add' | 'ablate';
  coefficient?: number;
}

export interface RowIntervention {
  add?: Float32Array;
  ablate?: Float32Array;
}

/** Combines steering requests for one batch row into [rows·d] add / ablate arrays. */
export function buildRowIntervention(steerings: Steering[], rows: number, d: number): RowIntervention {
  if (steerings.length === 0) return {};
  let add: Float32Array | undefined;
  let ablate: Float32Array | undefined;
  for (const s of steerings) {
    if (s.vector.length !== d && s.vector.length !== rows * d) {
      throw new RangeError(`steering vector has ${s.vector.length} values; this model needs [${d}] or [${rows}, ${d}] (layers+1 rows)`);
    }
    for (const r of s.rows) {
      if (!Number.isInteger(r) || r < 0 || r >= rows) throw new RangeError(`steering layer ${r} is outside 0–${rows - 1}`);
      const v = s.vector.length === d ? s.vector : s.vector.subarray(r * d, (r + 1) * d);
      if (s.mode === 'ablate') {
        ablate ??= new Float32Array(rows * d);
        let norm = 0;
        for (let i = 0; i < d; i++) norm += v[i] * v[i];
        norm = Math.sqrt(norm);
        if (norm === 0) throw new RangeError(`cannot ablate a zero direction at layer ${r}`);
        for (let i = 0; i < d; i++) {
          if (ablate[r * d + i] !== 0) throw new RangeError(`only one ablation direction per layer (layer ${r})`);
          ablate[r * d + i] = v[i] / norm;
        }
      } else {
        add ??= new Float32Array(rows * d);
        const c = s.coefficient ?? 1;
        for (let i = 0; i < d; i++) add[r * d + i] += c * v[i];
      }
    }
  }
  return { add, ablate };
}
