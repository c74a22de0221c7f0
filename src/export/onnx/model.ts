import onnxProto from "onnx-proto";
import type { onnx as OnnxTypes } from "onnx-proto";
import type { Shape } from "../../ir/shape.js";
import type { OnnxAttribute } from "./types.js";

const { onnx } = onnxProto;

/** ONNX TensorProto.DataType values. */
export const FLOAT = onnx.TensorProto.DataType.FLOAT;
export const INT64 = onnx.TensorProto.DataType.INT64;

type ElementType = typeof FLOAT | typeof INT64;

/** dlc's float64 values as a float32 initializer, little-endian raw data as ONNX requires. */
export function floatInitializer(name: string, t: { readonly shape: Shape; readonly data: ArrayLike<number> }): OnnxTypes.ITensorProto {
  const bytes = new Uint8Array(t.data.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < t.data.length; i++) view.setFloat32(i * 4, t.data[i]!, true);
  return { name, dims: [...t.shape], dataType: FLOAT, rawData: bytes };
}

export function int64Initializer(name: string, dims: readonly number[], values: readonly number[]): OnnxTypes.ITensorProto {
  return { name, dims: [...dims], dataType: INT64, int64Data: [...values] };
}

/** A graph input or output: `[N, …]` with the batch axis symbolic. */
export function valueInfo(name: string, elemType: ElementType, sampleShape: Shape): OnnxTypes.IValueInfoProto {
  const dim = [{ dimParam: "N" }, ...sampleShape.map((d) => ({ dimValue: d }))];
  return { name, type: { tensorType: { elemType, shape: { dim } } } };
}

export function attributeProto(name: string, a: OnnxAttribute): OnnxTypes.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if ("int" in a) return { name, type: T.INT, i: a.int };
  if ("ints" in a) return { name, type: T.INTS, ints: [...a.ints] };
  if ("float" in a) return { name, type: T.FLOAT, f: a.float };
  return { name, type: T.STRING, s: new TextEncoder().encode(a.string) };
}

interface ModelParts {
  readonly graphName: string;
  readonly opset: number;
  readonly producerVersion: string;
  readonly nodes: OnnxTypes.INodeProto[];
  readonly initializers: OnnxTypes.ITensorProto[];
  readonly inputs: OnnxTypes.IValueInfoProto[];
  readonly outputs: OnnxTypes.IValueInfoProto[];
}

/** IR version 8 (ONNX 1.10+), read by every ONNX Runtime since 1.10. */
const IR_VERSION = 8;

export function encodeModel(parts: ModelParts): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    producerName: "dlc",
    producerVersion: parts.producerVersion,
    opsetImport: [{ domain: "", version: parts.opset }],
    graph: {
      name: parts.graphName,
      node: parts.nodes,
      initializer: parts.initializers,
      input: parts.inputs,
      output: parts.outputs,
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

