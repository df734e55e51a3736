/** @file Emits a deterministic ONNX ModelProto for the tensors a caller wants computed. */
import { type DType, dtypeOfHost, type HostArray } from "../ir/dtype.js";

import type { OpAttrs } from "../ir/ops.js";
import { type Dim, fmtShape } from "../ir/shape.js";
import type { Tensor } from "../ir/tensor.js";
import { topoSort } from "../ir/graph.js";
import { checkWeight, foldableTransposes, releaseTransposeScratch, transpose2d } from "./fold.js";
import { type Attr, type LowerCtx, LOWERINGS, OPSET } from "./lower.js";
import { ATTR_TYPE, GraphProto, ModelProto, ONNX_DTYPE, TensorProto } from "./schema.js";

/** An input of an emitted graph: name, dtype and (symbolic) shape. */
export interface GraphInput {
  name: string;
  kind: "input" | "param";
  dtype: DType;
  shape: readonly Dim[];
  /** Where the tensor was made, for error messages. */
  where: string;
}

/** Options of `emitModel`: parameter values (as initializers) or parameters as graph inputs. */
export interface EmitOptions {
  /** Values of params: those present become initializers, the others graph inputs. */
  weights?: (name: string) => HostArray | undefined;
  /**
   * Initializers larger than 1 KiB go outside the model, packed into one file referenced as
   * `location` (needed beyond protobuf's 2 GB, and what ORT maps instead of copying): its bytes
   * are returned in `external`, or handed in order to `sink`, which must consume each before
   * returning (then `external` is empty).
   */
  externalData?: { location: string; sink?: (bytes: Uint8Array) => void };
  graphName?: string;
}

/** An emitted ONNX ModelProto (bytes, deterministic) with its inputs and outputs. */
export interface Emitted {
  bytes: Uint8Array;
  inputs: GraphInput[];
  outputs: { name: string; dtype: DType; shape: readonly Dim[] }[];
  /** The external data file's bytes when `externalData` was asked for without a sink. */
  external?: Uint8Array[];
}

const ATTR_KIND: Record<string, number> = { i: ATTR_TYPE.INT, f: ATTR_TYPE.FLOAT, ints: ATTR_TYPE.INTS, floats: ATTR_TYPE.FLOATS, s: ATTR_TYPE.STRING };

function hostBytes(a: HostArray): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function valueInfo(name: string, dtype: DType, shape: readonly Dim[]): object {
  return {
    name,
    type: {
      tensorType: {
        elemType: ONNX_DTYPE[dtype],
        // composite symbolic dims ("B*50") are left unnamed so ORT does not unify them by name
        shape: { dim: shape.map((d) => (typeof d === "number" ? { dimValue: d } : /^[A-Za-z_]\w*$/.test(d) ? { dimParam: d } : {})) },
      },
    },
  };
}

/** Lowers the graph reaching `outputs` to an ONNX ModelProto (opset 18), one lowering per op. */
export function emitModel(outputs: Record<string, Tensor>, opts: EmitOptions = {}): Emitted {
  const outNames = Object.keys(outputs);
  if (outNames.length === 0) throw new Error("emit: no outputs requested");
  const order = topoSort(outNames.map((k) => outputs[k]));
  const nodes: object[] = [];
  const initializers: object[] = [];
  // large initializers are spliced into the output by hand so their bytes are copied exactly once
  const spliced: { header: object; raw: Uint8Array }[] = [];
  const inputs: GraphInput[] = [];
  const external: Uint8Array[] = [];
  let externalOffset = 0;
  const names = new Map<number, string>();
  const leafByName = new Map<string, Tensor>();
  const constCache = new Map<string, string>();
  let nValues = 0;
  let nConsts = 0;

  const addInitializer = (name: string, value: HostArray, shape: readonly number[], dtype: DType): void => {
    const raw = hostBytes(value);
    const t: Record<string, unknown> = { name, dims: shape, dataType: ONNX_DTYPE[dtype] };
    if (opts.externalData && raw.byteLength > 1024) {
      const put = opts.externalData.sink ?? ((b: Uint8Array) => external.push(b));
      const pad = (64 - (externalOffset % 64)) % 64; // keep every tensor 64-byte aligned for mmap
      if (pad) put(new Uint8Array(pad));
      externalOffset += pad;
      t.dataLocation = 1;
      t.externalData = [
        { key: "location", value: opts.externalData.location },
        { key: "offset", value: String(externalOffset) },
        { key: "length", value: String(raw.byteLength) },
      ];
      put(raw);
      externalOffset += raw.byteLength;
    } else if (raw.byteLength > SPLICE_BYTES) {
      spliced.push({ header: t, raw });
      return;
    } else {
      t.rawData = raw;
    }
    initializers.push(t);
  };

  const ctx: LowerCtx = {
    node(opType, ins, attrs = {}) {
      const out = `v${nValues++}`;
      const attribute = Object.keys(attrs)
        .sort()
        .map((k) => {
          const a = attrs[k] as Attr;
          const kind = Object.keys(a)[0];
          const v = (a as Record<string, unknown>)[kind];
          return { name: k, type: ATTR_KIND[kind], [kind]: kind === "s" ? new TextEncoder().encode(v as string) : v };
        });
      nodes.push({ input: ins, output: [out], name: `n${nodes.length}`, opType, attribute });
      return out;
    },
    i64(values) {
      return ctx.constant(BigInt64Array.from(values.map((v) => BigInt(v))), [values.length]);
    },
    constant(value, shape) {
      const small = value.length <= 64;
      const key = small ? `${value.constructor.name}|${shape.join(",")}|${Array.from(value as ArrayLike<number | bigint>).join(",")}` : "";
      if (small) {
        const hit = constCache.get(key);
        if (hit) return hit;
      }
      const name = `c${nConsts++}`;
      addInitializer(name, value, shape, dtypeOfHost(value));
      if (small) constCache.set(key, name);
      return name;
    },
  };

  // A weight whose every use is a 2-D transpose is stored transposed: MatMul reads it as is, and ORT
  // neither folds a transposed copy nor keeps the original beside it.
  const folded = foldableTransposes(order, opts.weights, outNames.map((k) => outputs[k]));

  for (const t of order) {
    if (t.op === "transpose" && folded.has(t.inputs[0].id)) {
      const p = t.inputs[0];
      const name = (p.attrs as OpAttrs["param"]).name;
      const [rows, cols] = p.shape as number[];
      const streamed = opts.externalData?.sink !== undefined; // consumed at once: reuse one buffer
      addInitializer(`${name}.T`, transpose2d(opts.weights!(name)!, rows, cols, streamed), [cols, rows], p.dtype);
      names.set(t.id, `${name}.T`);
      continue;
    }
    if (t.op === "param" && folded.has(t.id)) {
      leafByName.set((t.attrs as OpAttrs["param"]).name, t);
      continue;
    }
    if (t.op === "input" || t.op === "param") {
      const name = (t.attrs as OpAttrs["input"]).name;
      const prev = leafByName.get(name);
      if (prev && prev !== t) {
        throw new Error(`emit: two different ${t.op}s are named '${name}': ${fmtShape(prev.shape)} made at ${prev.where} and ${fmtShape(t.shape)} made at ${t.where}`);
      }
      leafByName.set(name, t);
      names.set(t.id, name);
      const w = t.op === "param" ? opts.weights?.(name) : undefined;
      if (w) {
        checkWeight(name, w, t);
        addInitializer(name, w, t.shape as number[], t.dtype);
      } else {
        inputs.push({ name, kind: t.op, dtype: t.dtype, shape: t.shape, where: t.where });
      }
      continue;
    }
    if (t.op === "const") {
      names.set(t.id, ctx.constant((t.attrs as OpAttrs["const"]).value, t.shape as number[]));
      continue;
    }
    const ins = t.inputs.map((x) => names.get(x.id)!);
    const lower = LOWERINGS[t.op] as (c: LowerCtx, t: Tensor, ins: string[], a: unknown) => string;
    names.set(t.id, lower(ctx, t, ins, t.attrs));
  }

  const outputsInfo = outNames.map((k) => {
    const t = outputs[k];
    nodes.push({ input: [names.get(t.id)!], output: [k], name: `n${nodes.length}`, opType: "Identity", attribute: [] });
    return { name: k, dtype: t.dtype, shape: t.shape };
  });
  if (new Set([...outNames, ...leafByName.keys()]).size !== outNames.length + leafByName.size) {
    throw new Error(`emit: an output name collides with an input name: ${outNames.filter((n) => leafByName.has(n)).join(", ")}`);
  }

  const model = {
    irVersion: 8,
    producerName: "clip-ts",
    producerVersion: "0.1.0",
    opsetImport: [{ domain: "", version: OPSET }],
  };
  const graph = {
    name: opts.graphName ?? "clip-ts",
    node: nodes,
    initializer: initializers,
    input: inputs.map((i) => valueInfo(i.name, i.dtype, i.shape)),
    output: outputsInfo.map((o) => valueInfo(o.name, o.dtype, o.shape)),
  };
  const bytes = spliceModel(ModelProto.encode(model as never).finish(), GraphProto.encode(graph as never).finish(), spliced);
  releaseTransposeScratch();
  return { bytes, inputs, outputs: outputsInfo, external: opts.externalData ? external : undefined };
}


/** Initializers above this size bypass protobufjs (whose writer copies bytes several times). */
const SPLICE_BYTES = 4096;

function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return out;
}

/**
 * ModelProto bytes = model fields + field 7 (graph) holding the graph's fields followed by one
 * field-5 (initializer) TensorProto per spliced tensor, each ending in field 9 (raw_data).
 * Protobuf allows repeated fields anywhere in a message, so this parses as one GraphProto.
 */
function spliceModel(modelHead: Uint8Array, graphBytes: Uint8Array, spliced: { header: object; raw: Uint8Array }[]): Uint8Array {
  const parts: (Uint8Array | number[])[] = [];
  let graphLen = graphBytes.length;
  const entries = spliced.map(({ header, raw }) => {
    const head = TensorProto.encode(header as never).finish();
    const rawTag = [0x4a, ...varint(raw.byteLength)]; // field 9, length-delimited
    const tensorLen = head.length + rawTag.length + raw.byteLength;
    const tag = [0x2a, ...varint(tensorLen)]; // field 5, length-delimited
    graphLen += tag.length + tensorLen;
    return [tag, head, rawTag, raw] as const;
  });
  parts.push(modelHead, [0x3a, ...varint(graphLen)], graphBytes); // field 7, length-delimited
  for (const e of entries) parts.push(...e);
  const total = parts.reduce((s, p) => s + p.length, 0);
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

