/**
 * @file Prometheus text exposition (format 0.0.4) for the server's counters, gauges and
 * histograms: requests, latencies, batch sizes, queue depth. No dependency: a few maps.
 */

type Labels = Record<string, string>;

const labelKey = (l: Labels): string =>
  Object.keys(l)
    .sort()
    .map((k) => `${k}="${l[k]!.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`)
    .join(",");

const braces = (key: string, extra = ""): string => {
  const all = [key, extra].filter((s) => s !== "").join(",");
  return all ? `{${all}}` : "";
};

interface Metric {
  render(): string[];
}

/** A monotonically increasing count per label set. */
export class Counter implements Metric {
  private values = new Map<string, number>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  inc(labels: Labels = {}, by = 1): void {
    const k = labelKey(labels);
    this.values.set(k, (this.values.get(k) ?? 0) + by);
  }
  /** The current count (tests and /health). */
  get(labels: Labels = {}): number {
    return this.values.get(labelKey(labels)) ?? 0;
  }
  render(): string[] {
    const out = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    for (const [k, v] of this.values) out.push(`${this.name}${braces(k)} ${v}`);
    return out;
  }
}

/** A value read when scraped. */
export class Gauge implements Metric {
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly read: () => [Labels, number][],
  ) {}
  render(): string[] {
    const out = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} gauge`];
    for (const [l, v] of this.read()) out.push(`${this.name}${braces(labelKey(l))} ${v}`);
    return out;
  }
}

/** Cumulative buckets, sum and count per label set. */
export class Histogram implements Metric {
  private series = new Map<string, { counts: number[]; sum: number; count: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: number[],
  ) {}
  observe(value: number, labels: Labels = {}): void {
    const k = labelKey(labels);
    let s = this.series.get(k);
    if (!s) this.series.set(k, (s = { counts: new Array(this.buckets.length).fill(0), sum: 0, count: 0 }));
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]!) s.counts[i]!++;
    s.sum += value;
    s.count++;
  }
  render(): string[] {
    const out = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const [k, s] of this.series) {
      this.buckets.forEach((b, i) => out.push(`${this.name}_bucket${braces(k, `le="${b}"`)} ${s.counts[i]}`));
      out.push(`${this.name}_bucket${braces(k, 'le="+Inf"')} ${s.count}`);
      out.push(`${this.name}_sum${braces(k)} ${s.sum}`);
      out.push(`${this.name}_count${braces(k)} ${s.count}`);
    }
    return out;
  }
}

/** The server's metrics. */
export class ServerMetrics {
  readonly requests = new Counter("clip_http_requests_total", "HTTP requests answered, by route, method and status code");
  readonly latency = new Histogram("clip_http_request_duration_seconds", "Time from request to response, by route", [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]);
  readonly modelCalls = new Counter("clip_model_calls_total", "Model calls (one per batch), by tower");
  readonly batchSize = new Histogram("clip_batch_size", "Items per model call, by tower", [1, 2, 4, 8, 16, 32, 64, 128, 256]);
  readonly batchSeconds = new Histogram("clip_batch_duration_seconds", "Duration of a model call, by tower", [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]);
  readonly rejected = new Counter("clip_queue_rejected_total", "Jobs refused by a batcher, by tower and reason (queue_full, timeout)");
  private readonly gauges: Gauge[];

  constructor(queueDepth: () => [Labels, number][]) {
    this.gauges = [
      new Gauge("clip_queue_depth", "Requests waiting for a model call, by tower", queueDepth),
      new Gauge("process_resident_memory_bytes", "Resident memory size in bytes", () => [[{}, process.memoryUsage.rss()]]),
    ];
  }

  /** The exposition text. */
  render(): string {
    const all: Metric[] = [this.requests, this.latency, this.modelCalls, this.batchSize, this.batchSeconds, this.rejected, ...this.gauges];
    return all.flatMap((m) => m.render()).join("\n") + "\n";
  }
}
