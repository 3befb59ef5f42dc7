/**
 * llama.cpp control vectors: the mapping between our [layers+1, d] persona vectors and a control-vector file, so a vector steers the same residual
 * position in Persona Lens, llama.cpp and Ollama, and vectors from repeng or llama-cvector-generator import here.
 *
 * Layer convention. Our row r is HF `hidden_states[r]`: row 0 is the embedding output, row r ≥ 1 the output of
 * decoder block r-1 counted from 0. In a control-vector file, `direction.N` is added to the output of the 0-based
 * block N, so **`direction.N` ↔ our row N+1** and our row r is written as `direction.{r-1}`. Exportable rows are
 * 2..layers; row 0 (embeddings) and row 1 (`direction.0`) cannot be carried. This is what the issue asks for
 * ("N is the 0-based block whose output was read, i.e. our row N+1; never direction.0"), checked against:
 *  - llama.cpp `common/common.cpp` `common_control_vector_load_one`: `direction.0` is rejected ("invalid (zero)
 *    direction tensor layer index"); `direction.N` is stored at `data[n_embd * (N - 1)]`.
 *  - llama.cpp `src/llama-adapter.cpp` `llama_adapter_cvec::apply`: `tensors[il]` takes `data[n_embd * (il - 1)]`
 *    for il = 1..n_layer-1 ("there's never a tensor for layer 0"), so `direction.N` lands in `tensors[N]`.
 *  - llama.cpp `src/models/*.cpp` (e.g. `qwen2.cpp`): inside `for (il = 0; il < n_layer; ++il)`, after the FFN
 *    residual add, `cur = build_cvec(cur, il); cb(cur, "l_out", il);` — it shifts block il's output, which feeds
 *    block il+1 and equals HF `hidden_states[il+1]`.
 *  - repeng `repeng/extract.py`: `directions[layer]` is read from `out.hidden_states[layer + 1]` and exported as
 *    `direction.{layer}`; `repeng/control.py` adds it to `model.layers[layer]`'s output. Same mapping.
 *  - llama.cpp `tools/cvector-generator` (`pca.hpp`/`mean.hpp`) names the vector computed from `l_out-il` as
 *    `direction.{il+1}`, one block after where it was read. We import by where llama.cpp applies it (row N+1), so
 *    its vectors steer here exactly as they do in llama.cpp.
 */
import { GgufError, type GgufValue } from '../gguf/ggufFormat';
import { readGgufHeader, readGgufTensorBytes } from '../gguf/ggufFile';
import { writeGguf } from '../gguf/ggufWriter';

/** Control vectors are a few MB; refusing more keeps a model GGUF picked by mistake from being read. */
const MAX_CONTROL_VECTOR_BYTES = 512 * 1024 * 1024;
/** No released decoder has anywhere near this many blocks; bounds the allocation a hostile `direction.N` can ask for. */
const MAX_DIRECTION_INDEX = 1024;

const ARCHITECTURE = 'controlvector';
const DIRECTION_NAME = /^direction\.(0|[1-9][0-9]*)$/;

/** The `direction.N` index that carries our row `row` (see the layer convention at the top). */
export const directionIndexForRow = (row: number) => row - 1;
/** Our row that `direction.N` steers. */
export const rowForDirectionIndex = (index: number) => index + 1;

export interface ImportedControlVector {
  path: string;
  /** Highest steered row + 1; rows past it belong to the model, not the file. */
  rows: number;
  d: number;
  /** [rows·d] in our row convention, zeros where the file has no direction. */
  vector: Float32Array;
  modelHint: string;
  /** `controlvector.layer_count` as written: the number of direction tensors. */
  layerCount: number;
}

function checkFinite(values: Float32Array, what: string, fail: (problem: string) => never): void {
  const bad = values.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) fail(`${what} holds ${values[bad]} at index ${bad}; a control vector must be finite`);
}

/**
 * Writes rows of our [rows, d] vector as a llama.cpp control vector: row r becomes `direction.{r-1}`.
 * `layers` picks rows (default: every exportable row, 2..rows-1). Returns the rows written.
 */
export function exportControlVector(path: string, vector: Float32Array, rows: number, d: number, modelHint: string, options: { layers?: number[] } = {}): number[] {
  if (!Number.isInteger(rows) || !Number.isInteger(d) || rows < 1 || d < 1) throw new RangeError(`rows (${rows}) and d (${d}) must be positive integers`);
  if (vector.length !== rows * d) throw new RangeError(`vector has ${vector.length} values, but rows × d = ${rows} × ${d} = ${rows * d}`);
  if (rows < 3) throw new RangeError(`a vector with ${rows} rows has nothing llama.cpp can carry: row 0 (embeddings) and row 1 (direction.0) are never applied`);
  if (!modelHint) throw new Error('modelHint must name the model architecture, e.g. "qwen2" or "llama"');
  const selected = options.layers ?? Array.from({ length: rows - 2 }, (_, i) => i + 2);
  if (selected.length === 0) throw new RangeError('no layers selected for export');
  if (new Set(selected).size !== selected.length) throw new RangeError(`layers [${selected}] repeat a row`);
  for (const row of selected) {
    if (row === 0) throw new RangeError('row 0 is the embedding output, which llama.cpp control vectors cannot steer');
    if (row === 1) throw new RangeError('row 1 (output of block 0) would be direction.0, which llama.cpp rejects; export rows 2 and up');
    if (!Number.isInteger(row) || row < 0 || row >= rows) throw new RangeError(`row ${row} is outside the vector's rows 0–${rows - 1}`);
  }
  const ordered = [...selected].sort((a, b) => a - b);
  const tensors = ordered.map((row) => {
    const data = vector.slice(row * d, (row + 1) * d);
    checkFinite(data, `row ${row}`, (problem) => { throw new RangeError(problem); });
    return { name: `direction.${directionIndexForRow(row)}`, dims: [d], data };
  });
  const metadata = new Map<string, GgufValue>([
    ['general.architecture', { type: 'string', value: ARCHITECTURE }],
    [`${ARCHITECTURE}.model_hint`, { type: 'string', value: modelHint }],
    // repeng writes a u32 here, cvector-generator an i32; llama.cpp reads neither.
    [`${ARCHITECTURE}.layer_count`, { type: 'u32', value: tensors.length }],
  ]);
  writeGguf(path, metadata, tensors);
  return ordered;
}

/** Reads a llama.cpp control vector (ours, repeng's or cvector-generator's) into our row convention. */
export async function importControlVector(path: string): Promise<ImportedControlVector> {
  const header = await readGgufHeader(path, { maxBytes: MAX_CONTROL_VECTOR_BYTES, expected: 'a control vector' });
  function fail(problem: string): never {
    throw new GgufError(path, problem);
  }
  function stringEntry(key: string): string {
    const entry = header.metadata.get(key);
    if (!entry) return fail(`is not a control vector: metadata "${key}" is missing`);
    if (entry.type !== 'string') return fail(`metadata "${key}" must be a string, not ${entry.type}`);
    return entry.value;
  }
  const architecture = stringEntry('general.architecture');
  if (architecture !== ARCHITECTURE) fail(`is a "${architecture}" GGUF, not a control vector (general.architecture must be "${ARCHITECTURE}")`);
  const modelHint = stringEntry(`${ARCHITECTURE}.model_hint`);
  const layerCountEntry = header.metadata.get(`${ARCHITECTURE}.layer_count`);
  if (!layerCountEntry) return fail(`is not a control vector: metadata "${ARCHITECTURE}.layer_count" is missing`);
  if (layerCountEntry.type !== 'u32' && layerCountEntry.type !== 'i32') return fail(`metadata "${ARCHITECTURE}.layer_count" must be a u32 or i32, not ${layerCountEntry.type}`);
  const layerCount = layerCountEntry.value;
  if (header.tensors.length === 0) fail('holds no direction tensors');
  if (layerCount !== header.tensors.length) fail(`${ARCHITECTURE}.layer_count says ${layerCount} but the file holds ${header.tensors.length} direction tensors`);

  const d = header.tensors[0].dims.reduce((a, b) => a * b, 1);
  const directions = header.tensors.map((tensor) => {
    const { name, dims, type } = tensor;
    const match = DIRECTION_NAME.exec(name);
    if (!match) return fail(`tensor "${name}" is not named direction.<block>`);
    const index = Number(match[1]);
    if (index === 0) fail('holds direction.0, which llama.cpp rejects (block 0 is never steered)');
    if (index > MAX_DIRECTION_INDEX) fail(`tensor "${name}" targets block ${index}, beyond any real model`);
    // llama.cpp's control-vector loader takes F32 only.
    if (type.name !== 'F32') fail(`tensor "${name}" is ${type.name}; control vectors must be F32`);
    if (dims.length !== 1) fail(`tensor "${name}" has shape [${dims}]; a direction must be one-dimensional`);
    if (dims[0] !== d || d === 0) fail(`tensor "${name}" has ${dims[0]} values; every direction must have the same, non-zero width (${header.tensors[0].name} has ${d})`);
    // A byte copy keeps every float bit-exact (NaN payloads included); Node runs little-endian everywhere we ship.
    const bytes = readGgufTensorBytes(header, tensor);
    const data = new Float32Array(bytes.buffer, bytes.byteOffset, d);
    checkFinite(data, `tensor "${name}"`, fail);
    return { row: rowForDirectionIndex(index), data };
  });
  const rows = Math.max(...directions.map((direction) => direction.row)) + 1;
  const vector = new Float32Array(rows * d);
  for (const { row, data } of directions) vector.set(data, row * d);
  return { path, rows, d, vector, modelHint, layerCount };
}

/**
 * Checks an imported control vector against the model it is about to steer and returns it laid out as
 * [modelRows, modelD], zero rows where the file has no direction.
 */
export function checkControlVectorFits(imported: ImportedControlVector, modelRows: number, modelD: number): Float32Array {
  const { path, d, rows, modelHint } = imported;
  if (d !== modelD) throw new GgufError(path, `control vector width ${d} does not match the model's hidden size ${modelD}; it was made for a "${modelHint}" model with another size`);
  if (rows > modelRows) {
    const lastBlock = directionIndexForRow(rows - 1);
    throw new GgufError(path, `control vector steers block ${lastBlock} (direction.${lastBlock}), but the model has only ${modelRows - 1} blocks (0–${modelRows - 2}); it was made for a deeper "${modelHint}" model`);
  }
  const fitted = new Float32Array(modelRows * modelD);
  fitted.set(imported.vector);
  return fitted;
}
