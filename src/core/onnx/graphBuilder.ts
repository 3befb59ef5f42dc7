/**
 * A small typed builder for ONNX graphs, serialised with `onnx-proto`.
 * Weights can live in external data (a file beside the .onnx model), so they never pass through protobuf
 * and the 2 GB protobuf limit does not apply.
 */
import { onnx } from 'onnx-proto';

export const DataType = onnx.TensorProto.DataType;
export type DataTypeId = onnx.TensorProto.DataType;

/** A dimension: a fixed size or a symbolic name (dim_param). */
export type Dim = number | string;

export type AttributeValue = number | string | number[] | { floats: number[] } | { float: number } | TensorValue;

/** An inline tensor (constants, small initializers). */
export interface TensorValue {
  dataType: DataTypeId;
  dims: number[];
  data: Float32Array | BigInt64Array | Int32Array | Uint8Array;
}

/** An initializer whose bytes live in an external file (ONNX external data). */
export interface ExternalTensor {
  name: string;
  dataType: DataTypeId;
  dims: number[];
  /** Path relative to the .onnx file (ORT rejects absolute paths and paths escaping its folder). */
  location: string;
  offset: number;
  length: number;
}

const DEFAULT_OPSET = 18;

export class GraphBuilder {
  private readonly nodes: onnx.INodeProto[] = [];
  private readonly initializers: onnx.ITensorProto[] = [];
  private readonly inputs: onnx.IValueInfoProto[] = [];
  private readonly outputs: onnx.IValueInfoProto[] = [];
  private readonly usedNames = new Set<string>();
  private counter = 0;

  constructor(private readonly graphName = 'graph') {}

  /** Returns a fresh, unique value name with the given prefix. */
  fresh(prefix: string): string {
    let name = `${prefix}_${this.counter++}`;
    while (this.usedNames.has(name)) name = `${prefix}_${this.counter++}`;
    this.usedNames.add(name);
    return name;
  }

  private claim(name: string): string {
    if (this.usedNames.has(name)) throw new Error(`ONNX graph: value name "${name}" is defined twice`);
    this.usedNames.add(name);
    return name;
  }

  input(name: string, dataType: DataTypeId, shape: Dim[]): string {
    this.inputs.push(valueInfo(this.claim(name), dataType, shape));
    return name;
  }

  /** Marks an existing value as a graph output (ORT computes it only once per run; fetch it by name). */
  output(name: string, dataType: DataTypeId, shape: Dim[]): string {
    this.outputs.push(valueInfo(name, dataType, shape));
    return name;
  }

  /** Adds a node; returns the names of its outputs. */
  nodeMulti(opType: string, inputs: string[], outputCount: number, attributes: Record<string, AttributeValue> = {}, outputNames?: string[], domain = ''): string[] {
    const outs = outputNames ? outputNames.map((n) => this.claim(n)) : Array.from({ length: outputCount }, () => this.fresh(opType));
    this.nodes.push({
      opType,
      domain,
      input: inputs,
      output: outs,
      name: this.fresh(`${opType}_node`),
      attribute: Object.entries(attributes).map(([k, v]) => attribute(k, v)),
    });
    return outs;
  }

  /** Adds a single-output node; returns its output name. */
  node(opType: string, inputs: string[], attributes: Record<string, AttributeValue> = {}, outputName?: string): string {
    return this.nodeMulti(opType, inputs, 1, attributes, outputName ? [outputName] : undefined)[0];
  }

  /** An inline constant tensor (for shapes, axes, scalars). */
  constant(tensor: TensorValue, name?: string): string {
    const n = name ? this.claim(name) : this.fresh('const');
    this.initializers.push(inlineTensor(n, tensor));
    return n;
  }

  int64s(values: number[], name?: string): string {
    return this.constant({ dataType: DataType.INT64, dims: [values.length], data: BigInt64Array.from(values.map(BigInt)) }, name);
  }

  int64Scalar(value: number, name?: string): string {
    return this.constant({ dataType: DataType.INT64, dims: [], data: BigInt64Array.of(BigInt(value)) }, name);
  }

  floatScalar(value: number, name?: string): string {
    return this.constant({ dataType: DataType.FLOAT, dims: [], data: Float32Array.of(value) }, name);
  }

  externalInitializer(tensor: ExternalTensor): string {
    this.claim(tensor.name);
    this.initializers.push({
      name: tensor.name,
      dataType: tensor.dataType,
      dims: tensor.dims,
      dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
      externalData: [
        { key: 'location', value: tensor.location },
        { key: 'offset', value: String(tensor.offset) },
        { key: 'length', value: String(tensor.length) },
      ],
    });
    return tensor.name;
  }

  /** Serialises the model. `opset` applies to the default ONNX domain. */
  encode(opset = DEFAULT_OPSET, extraOpsets: Record<string, number> = {}): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: 'persona-lens',
      opsetImport: [{ domain: '', version: opset }, ...Object.entries(extraOpsets).map(([domain, version]) => ({ domain, version }))],
      graph: {
        name: this.graphName,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }

  get nodeCount(): number {
    return this.nodes.length;
  }
}

function valueInfo(name: string, dataType: DataTypeId, shape: Dim[]): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: dataType,
        shape: { dim: shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function inlineTensor(name: string, t: TensorValue): onnx.ITensorProto {
  return {
    name,
    dataType: t.dataType,
    dims: t.dims,
    rawData: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength),
  };
}

function attribute(name: string, value: AttributeValue): onnx.IAttributeProto {
  const A = onnx.AttributeProto.AttributeType;
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new Error(`ONNX attribute ${name}: use { float: x } for floats`);
    return { name, type: A.INT, i: value };
  }
  if (typeof value === 'string') return { name, type: A.STRING, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) return { name, type: A.INTS, ints: value };
  if ('floats' in value) return { name, type: A.FLOATS, floats: value.floats };
  if ('float' in value) return { name, type: A.FLOAT, f: value.float };
  return { name, type: A.TENSOR, t: inlineTensor(name, value) };
}
