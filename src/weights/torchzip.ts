/**
 * @file PyTorch zip checkpoints (torch.save since 1.6, and TorchScript archives) read without
 * Python: data.pkl runs in our pickle VM, tensors point at storages stored as data/<key>.
 */
import { UserError } from "../errors.js";
import { DTYPE_BYTES, type DType, type RawTensor, type TypedData, allocTyped, numel, typedFromBytes, upcastHalf } from "./dtype.js";
import { PyGlobal, PyObject, PyTuple, unpickle } from "./pickle.js";
import { type ByteSource, bytesSource } from "./source.js";
import { type ZipEntry, looksLikeZip, readZipDirectory, readZipEntry } from "./zip.js";

/** torch.<Name>Storage -> element type. */
const STORAGE_DTYPES: Readonly<Record<string, DType>> = {
  DoubleStorage: "F64",
  FloatStorage: "F32",
  HalfStorage: "F16",
  BFloat16Storage: "BF16",
  LongStorage: "I64",
  IntStorage: "I32",
  ShortStorage: "I16",
  CharStorage: "I8",
  ByteStorage: "U8",
  BoolStorage: "BOOL",
};

class StorageType {
  constructor(readonly dtype: DType) {}
}

class StorageRef {
  constructor(
    readonly key: string,
    readonly dtype: DType,
    readonly numel: number,
  ) {}
}

/** A tensor as pickled: a view (offset, size, stride in elements) into a storage. */
class TensorRef {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly shape: number[],
    readonly stride: number[],
  ) {}
}

export interface TorchReadOptions {
  /** Upcast F16 / BF16 tensors to F32. */
  upcast?: boolean;
}

export interface TorchContents {
  tensors: Map<string, RawTensor>;
  /** "state_dict": a torch.save'd dict; "torchscript": parameters gathered from a TorchScript module. */
  format: "state_dict" | "torchscript";
  /** Where the state dict sat in the pickle ("" at the root, "state_dict" inside a wrapper). */
  path: string;
}

const ints = (x: unknown, what: string): number[] => {
  const items = x instanceof PyTuple ? x.items : Array.isArray(x) ? x : null;
  if (!items || !items.every((v) => typeof v === "number")) throw new UserError(`torch checkpoint: ${what} is not a tuple of ints`);
  return items as number[];
};

function rebuildTensor(storage: unknown, offset: unknown, size: unknown, stride: unknown): TensorRef {
  if (!(storage instanceof StorageRef)) throw new UserError("torch checkpoint: a tensor's storage is not a stored storage");
  return new TensorRef(storage, Number(offset), ints(size, "tensor size"), ints(stride, "tensor stride"));
}

/** The globals a state-dict pickle may use; everything else stays an inert PyGlobal. */
function findGlobal(module: string, name: string): unknown {
  if (module === "torch" && name in STORAGE_DTYPES) return new StorageType(STORAGE_DTYPES[name]);
  switch (`${module}.${name}`) {
    case "torch._utils._rebuild_tensor_v2":
    case "torch._utils._rebuild_tensor":
      return rebuildTensor;
    case "torch._utils._rebuild_parameter":
    case "torch._utils._rebuild_parameter_with_state":
      return (data: unknown) => data;
    case "torch._tensor._rebuild_from_type_v2":
      // (func, type, args, state): a tensor subclass; rebuild the plain tensor
      return (fn: unknown, _t: unknown, args: unknown) =>
        typeof fn === "function" ? (fn as (...a: unknown[]) => unknown)(...(args instanceof PyTuple ? args.items : [])) : null;
    case "collections.OrderedDict":
    case "builtins.dict":
      return (items?: unknown) => {
        const m = new Map<unknown, unknown>();
        if (Array.isArray(items)) for (const kv of items) if (kv instanceof PyTuple) m.set(kv.items[0], kv.items[1]);
        return m;
      };
    case "torch.Size":
      return (dims: unknown) => ints(dims, "torch.Size");
    case "torch.jit._pickle.build_intlist":
    case "torch.jit._pickle.build_doublelist":
    case "torch.jit._pickle.build_boollist":
    case "torch.jit._pickle.build_tensorlist":
    case "torch.jit._pickle.build_genericlist":
    case "torch.jit._pickle.restore_type_tag":
      return (x: unknown) => x;
    case "_codecs.encode":
      return (s: unknown) => new Uint8Array(Array.from(String(s), (c) => c.charCodeAt(0) & 0xff));
    case "torch._utils._rebuild_qtensor":
    case "torch._utils._rebuild_sparse_tensor":
    case "torch._utils._rebuild_wrapper_subclass":
    case "torch._utils._rebuild_meta_tensor_no_storage":
      return () => {
        throw new UserError(`torch checkpoint: ${module}.${name} tensors (quantized, sparse or meta) are not supported`);
      };
  }
  return undefined;
}

function persistentLoad(pid: unknown): StorageRef {
  const t = pid instanceof PyTuple ? pid.items : Array.isArray(pid) ? pid : [];
  if (t[0] !== "storage" || t.length < 5) throw new UserError(`torch checkpoint: unsupported persistent id ${JSON.stringify(t[0])}`);
  const [, type, key, , n] = t;
  if (type instanceof StorageType) return new StorageRef(String(key), type.dtype, Number(n));
  if (type instanceof PyGlobal && type.name === "UntypedStorage") return new StorageRef(String(key), "U8", Number(n));
  throw new UserError(`torch checkpoint: unsupported storage type ${type instanceof PyGlobal ? type.qualname : String(type)}`);
}

/** Finds the string -> tensor mapping in a torch.save'd object: the dict itself or a {"state_dict": ...} wrapper. */
function findStateDict(root: unknown): { dict: Map<string, TensorRef>; path: string } | null {
  const asTensors = (m: Map<unknown, unknown>): Map<string, TensorRef> | null => {
    const out = new Map<string, TensorRef>();
    for (const [k, v] of m) if (typeof k === "string" && v instanceof TensorRef) out.set(k, v);
    return out.size > 0 ? out : null;
  };
  const visit = (x: unknown, path: string, depth: number): { dict: Map<string, TensorRef>; path: string } | null => {
    const m = x instanceof Map ? x : x instanceof PyObject && x.state instanceof Map ? x.state : null;
    if (!m) return null;
    const direct = asTensors(m);
    if (direct) return { dict: direct, path };
    if (depth > 2) return null;
    for (const key of ["state_dict", "model_state_dict", "model", "module", "state"]) {
      if (m.has(key)) {
        const r = visit(m.get(key), path ? `${path}.${key}` : key, depth + 1);
        if (r) return r;
      }
    }
    return null;
  };
  return visit(root, "", 0);
}

/** Collects the tensor attributes of a TorchScript module tree as dotted names (its state dict). */
function walkTorchScript(root: unknown): Map<string, TensorRef> {
  const out = new Map<string, TensorRef>();
  const seen = new Set<unknown>();
  const visit = (obj: unknown, prefix: string): void => {
    if (!(obj instanceof PyObject) || seen.has(obj)) return;
    seen.add(obj);
    const state = obj.state instanceof Map ? obj.state : null;
    if (!state) return;
    for (const [k, v] of state) {
      if (typeof k !== "string") continue;
      if (v instanceof TensorRef) out.set(prefix + k, v);
      else if (v instanceof PyObject && v.cls.module.startsWith("__torch__")) visit(v, `${prefix}${k}.`);
    }
  };
  visit(root, "");
  return out;
}

/** True when all strides are row-major for the shape (dims of size 1 may have any stride). */
function isContiguous(shape: number[], stride: number[]): boolean {
  let expect = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && stride[i] !== expect) return false;
    expect *= shape[i];
  }
  return true;
}

/** Copies a strided view into a new row-major array. */
function stridedCopy(src: TypedData, dtype: DType, offset: number, shape: number[], stride: number[]): TypedData {
  const n = numel(shape);
  const out = allocTyped(dtype, n);
  if (n === 0) return out;
  const o = out as unknown as { [i: number]: unknown };
  const s = src as unknown as { [i: number]: unknown };
  const nd = shape.length;
  const inner = shape[nd - 1];
  const innerStride = stride[nd - 1];
  const idx = new Array<number>(nd).fill(0);
  let base = offset;
  for (let p = 0; p < n; p += inner) {
    for (let j = 0, q = base; j < inner; j++, q += innerStride) o[p + j] = s[q];
    // advance the outer dims like an odometer
    for (let d = nd - 2; d >= 0; d--) {
      idx[d]++;
      base += stride[d];
      if (idx[d] < shape[d]) break;
      base -= stride[d] * shape[d];
      idx[d] = 0;
    }
  }
  return out;
}

/** True when a source starts like a zip archive (torch >= 1.6 checkpoints do). */
export function isZipSource(src: ByteSource): boolean {
  return src.size >= 4 && looksLikeZip(src.read(0, 4));
}

/** Reads the tensors of a PyTorch zip checkpoint, reading only the storages they use. Errors are UserErrors naming the file. */
export function readTorchZipFrom(src: ByteSource, opts: TorchReadOptions = {}): TorchContents {
  try {
    return readTorchZipUnnamed(src, opts);
  } catch (e) {
    // found by the fuzz suite (torch-zip): "torch checkpoint: ..." errors did not say which file
    if (e instanceof UserError && !e.message.includes(src.name)) throw new UserError(`${src.name}: ${e.message.replace(/^torch checkpoint: /, "")}`);
    throw e;
  }
}

function readTorchZipUnnamed(src: ByteSource, opts: TorchReadOptions): TorchContents {
  if (!isZipSource(src)) {
    const b = src.size >= 2 ? src.read(0, 2) : new Uint8Array(0);
    if (b[0] === 0x80) {
      throw new UserError(
        `${src.name}: legacy (pre-1.6, non-zip) PyTorch serialization is not supported; re-save it with ` +
          `python -c "import torch; torch.save(torch.load('IN', map_location='cpu'), 'OUT')" using torch >= 1.6`,
      );
    }
    throw new UserError(`${src.name}: not a PyTorch zip checkpoint`);
  }
  const entries = readZipDirectory(src);
  const pkl = [...entries.keys()].filter((n) => /^[^/]+\/data\.pkl$/.test(n)).sort();
  if (pkl.length === 0) throw new UserError(`${src.name}: zip archive has no <archive>/data.pkl: not a PyTorch checkpoint`);
  const prefix = pkl[0].slice(0, -"data.pkl".length);
  const byteorder = entries.get(`${prefix}byteorder`);
  if (byteorder && new TextDecoder().decode(readZipEntry(src, byteorder)).trim() === "big") {
    throw new UserError(`${src.name}: big-endian PyTorch checkpoints are not supported`);
  }
  const isScript = entries.has(`${prefix}constants.pkl`) || [...entries.keys()].some((n) => n.startsWith(`${prefix}code/`));
  const root = unpickle(readZipEntry(src, entries.get(pkl[0])!), {
    findGlobal,
    persistentLoad,
    name: `${src.name}:${pkl[0]}`,
  });

  let refs: Map<string, TensorRef>;
  let path = "";
  if (isScript) {
    refs = walkTorchScript(root);
    if (refs.size === 0) {
      throw new UserError(
        `${src.name} is a TorchScript archive whose module holds no tensors we can read; export a plain state dict: ` +
          `python -c "import torch; torch.save(torch.jit.load('IN', map_location='cpu').state_dict(), 'pytorch_model.bin')"`,
      );
    }
  } else {
    const found = findStateDict(root);
    if (!found) {
      const keys = root instanceof Map ? [...root.keys()].map(String).join(", ") : typeof root;
      throw new UserError(`${src.name}: no state dict (a dict of tensors) found in the checkpoint; top level holds: ${keys}`);
    }
    refs = found.dict;
    path = found.path;
  }
  // DistributedDataParallel checkpoints prefix every key with "module."
  if ([...refs.keys()].every((k) => k.startsWith("module."))) {
    refs = new Map([...refs].map(([k, v]) => [k.slice("module.".length), v]));
  }

  const storages = new Map<string, TypedData>();
  const used = new Set<string>();
  const tensors = new Map<string, RawTensor>();
  for (const [name, ref] of refs) {
    const st = ref.storage;
    let data = storages.get(st.key);
    if (!data) {
      const entry: ZipEntry | undefined = entries.get(`${prefix}data/${st.key}`);
      if (!entry) throw new UserError(`${src.name}: tensor ${name} needs storage data/${st.key}, which the archive lacks`);
      const bytes = readZipEntry(src, entry);
      const want = st.numel * DTYPE_BYTES[st.dtype];
      if (bytes.byteLength < want) {
        throw new UserError(`${src.name}: storage data/${st.key} has ${bytes.byteLength} bytes, ${st.dtype} x ${st.numel} needs ${want}`);
      }
      data = typedFromBytes(st.dtype, bytes.subarray(0, want));
      storages.set(st.key, data);
    }
    const n = numel(ref.shape);
    if (ref.shape.length !== ref.stride.length) throw new UserError(`${src.name}: tensor ${name} has size and stride of different ranks`);
    let maxIndex = ref.offset;
    for (let d = 0; d < ref.shape.length; d++) maxIndex += (ref.shape[d] - 1) * ref.stride[d];
    if (n > 0 && (ref.offset < 0 || maxIndex >= data.length)) {
      throw new UserError(`${src.name}: tensor ${name} reaches element ${maxIndex} of storage data/${st.key} (${data.length} elements)`);
    }
    let out: TypedData;
    if (isContiguous(ref.shape, ref.stride)) {
      const whole = ref.offset === 0 && n === data.length && !used.has(st.key);
      // a partial or shared view is copied, so tensors never alias each other
      out = whole ? data : data.slice(ref.offset, ref.offset + n);
    } else {
      out = stridedCopy(data, st.dtype, ref.offset, ref.shape, ref.stride);
    }
    used.add(st.key);
    const raw: RawTensor = { dtype: st.dtype, shape: ref.shape, data: out };
    tensors.set(name, opts.upcast ? upcastHalf(raw) : raw);
  }
  return { tensors, format: isScript ? "torchscript" : "state_dict", path };
}

/** Reads a PyTorch zip checkpoint already in memory. */
export function readTorchZip(bytes: Uint8Array, opts: TorchReadOptions = {}): TorchContents {
  return readTorchZipFrom(bytesSource(bytes), opts);
}
