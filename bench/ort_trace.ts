/** @file ORT's profiler trace (a session compiled with `profilePrefix`) read back: kernel times by op type and by node. */
import fs from "node:fs";

interface TraceEvent {
  cat: string;
  name: string;
  ts: number;
  dur: number;
  args: { op_name?: string; input_type_shape?: Record<string, number[]>[] };
}

export interface KernelTimes {
  /** Session runs counted. */
  runs: number;
  /** Kernel microseconds summed over the counted runs. */
  totalUs: number;
  /** op type -> microseconds. */
  byOp: Map<string, number>;
  /** "op node [input shapes]" -> microseconds. */
  byNode: Map<string, number>;
}

/** The kernel times in ORT's trace `file`, leaving out the first `skipRuns` session runs (warm-ups). */
export function kernelTimes(file: string, skipRuns = 0): KernelTimes {
  const trace = JSON.parse(fs.readFileSync(file, "utf8")) as TraceEvent[];
  const modelRuns = trace.filter((e) => e.cat === "Session" && e.name === "model_run").sort((a, b) => a.ts - b.ts);
  const from = skipRuns > 0 ? modelRuns[skipRuns - 1]!.ts + modelRuns[skipRuns - 1]!.dur : -Infinity;
  const out: KernelTimes = { runs: modelRuns.length - skipRuns, totalUs: 0, byOp: new Map(), byNode: new Map() };
  for (const e of trace) {
    if (e.cat !== "Node" || !e.name.endsWith("_kernel_time") || e.ts < from) continue;
    const op = e.args.op_name ?? "?";
    const shapes = (e.args.input_type_shape ?? []).map((t) => `[${Object.values(t)[0]!.join(",")}]`).join(" ");
    const node = `${op} ${e.name.replace(/_kernel_time$/, "")} ${shapes}`;
    out.byOp.set(op, (out.byOp.get(op) ?? 0) + e.dur);
    out.byNode.set(node, (out.byNode.get(node) ?? 0) + e.dur);
    out.totalUs += e.dur;
  }
  return out;
}
