/**
 * @file Download throughput of `clip pull` against `curl` fetching the same file from the same
 * local hub (bench/hub/serve.ts in its own process: HEAD 302 to the CDN origin, then the bytes),
 * in one run, sides alternating, medians of --repeats:
 *   - `clip pull bench/big --json` into a fresh Hugging Face cache each time (a whole process: start,
 *     listing, HEAD, GET, sha256 check, blob rename, snapshot link);
 *   - `curl -sSL -o FILE URL` of the resolve URL (follows the 302 to the CDN; no checksum, no cache);
 *   - pullRepo in this process (the library call, without the process start);
 *   - two ceilings in this process, bytes counted and dropped (no file, no hash): Node's HTTP client
 *     (what pullRepo receives with) and a bare TCP socket sending the GET by hand (no HTTP parser).
 *     No download written in Node can beat the second;
 *   - sha256 alone and writing the file alone (64 KiB chunks of the same size, on this thread):
 *     what the checksum and the write cost by themselves.
 * Throughput = file size / wall time; also the CPU time each side used (children's from
 * /proc/self/stat, this process's from process.cpuUsage), which a loaded machine disturbs less.
 * The claim of issue 20: clip pull within 80 % of curl.
 *
 * Run (after `npm run build`): node dist/bench/hub/pull.js [--mb 200] [--repeats 5] [--json]
 */
import { spawn, spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import http from "node:http";
import net from "node:net";
import { parseArgs } from "node:util";
import { pullRepo } from "../../src/weights/hub/pull.js";
import { CLI, ROOT } from "../../test/helpers/shared.js";

const { values } = parseArgs({ options: { mb: { type: "string", default: "200" }, repeats: { type: "string", default: "5" }, json: { type: "boolean", default: false } } });
const repeats = Number(values.repeats);
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const server = spawn(process.execPath, [path.join(ROOT, "dist/bench/hub/serve.js"), "--mb", values.mb!], { stdio: ["ignore", "pipe", "inherit"] });
const info = await new Promise<{ endpoint: string; url: string; size: number; sha256: string }>((resolve) => {
  readline.createInterface({ input: server.stdout! }).once("line", (l) => resolve(JSON.parse(l)));
});
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "clip-bench-hub-"));
const env = { ...process.env, HF_ENDPOINT: info.endpoint, HF_TOKEN: "", HF_TOKEN_PATH: "/nonexistent", HF_HUB_OFFLINE: "", CLIP_NO_PROGRESS: "1" };
const sha = (f: string): string => crypto.createHash("sha256").update(fs.readFileSync(f)).digest("hex");
/** CPU seconds (user + system) of this process's waited-for children so far: /proc/self/stat cutime + cstime. */
function childCpu(): number {
  const fields = fs.readFileSync("/proc/self/stat", "utf8").split(") ")[1].split(" ");
  return (Number(fields[13]) + Number(fields[14])) / 100; // clock ticks (USER_HZ = 100)
}

/** The CDN URL the resolve URL redirects to (the ceilings fetch it directly). */
const cdnUrl = await new Promise<string>((resolve, reject) => {
  http.request(info.url, { method: "HEAD" }, (res) => {
    res.resume();
    resolve(new URL(res.headers.location!, info.url).toString());
  }).on("error", reject).end();
});
/** GET with Node's HTTP client, bytes counted and dropped. */
async function httpDrop(url: string): Promise<number> {
  const res = await new Promise<http.IncomingMessage>((resolve, reject) => http.get(url, resolve).on("error", reject));
  let n = 0;
  for await (const c of res as AsyncIterable<Buffer>) n += c.length;
  return n;
}
/** GET written by hand on a TCP socket, every byte (headers too) counted and dropped. */
function socketDrop(url: string): Promise<number> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    let n = 0;
    const s = net.connect({ host: u.hostname, port: Number(u.port) }, () => s.write(`GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nConnection: close\r\n\r\n`));
    s.on("data", (c: Buffer) => (n += c.length));
    s.on("end", () => resolve(n));
    s.on("error", reject);
  });
}

const times: Record<string, number[]> = { clip: [], curl: [], inprocess: [], node_http_drop: [], node_socket_drop: [] };
const cpu = { clip: [] as number[], curl: [] as number[], inprocess: [] as number[], node_http_drop: [] as number[], node_socket_drop: [] as number[] };
try {
  for (let r = 0; r < repeats; r++) {
    const cache = path.join(tmp, `cache-${r}`);
    let c0 = childCpu();
    let t0 = performance.now();
    const p = spawnSync(process.execPath, [CLI, "pull", "bench/big", "--json"], { env: { ...env, HF_HUB_CACHE: cache }, encoding: "utf8" });
    times.clip.push((performance.now() - t0) / 1000);
    cpu.clip.push(childCpu() - c0);
    if (p.status !== 0) throw new Error(`clip pull failed: ${p.stderr}`);
    const snap = (JSON.parse(p.stdout) as { path: string }).path;
    if (sha(path.join(snap, "open_clip_model.safetensors")) !== info.sha256) throw new Error("clip pull: wrong bytes");
    fs.rmSync(cache, { recursive: true, force: true });

    const out = path.join(tmp, `curl-${r}.bin`);
    c0 = childCpu();
    t0 = performance.now();
    const c = spawnSync("curl", ["-sSL", "-o", out, info.url], { encoding: "utf8" });
    times.curl.push((performance.now() - t0) / 1000);
    cpu.curl.push(childCpu() - c0);
    if (c.status !== 0) throw new Error(`curl failed: ${c.stderr}`);
    if (sha(out) !== info.sha256) throw new Error("curl: wrong bytes");
    fs.rmSync(out, { force: true });

    const cache2 = path.join(tmp, `inproc-${r}`);
    const u0 = process.cpuUsage(); // every thread of this process, the hashing worker included
    t0 = performance.now();
    await pullRepo("bench/big", { cacheDir: cache2, endpoint: info.endpoint, token: "", offline: false });
    times.inprocess.push((performance.now() - t0) / 1000);
    const u = process.cpuUsage(u0);
    cpu.inprocess.push((u.user + u.system) / 1e6);
    fs.rmSync(cache2, { recursive: true, force: true });

    for (const [side, fn] of [["node_http_drop", httpDrop], ["node_socket_drop", socketDrop]] as const) {
      const v0 = process.cpuUsage();
      t0 = performance.now();
      const n = await fn(cdnUrl);
      times[side].push((performance.now() - t0) / 1000);
      const v = process.cpuUsage(v0);
      cpu[side].push((v.user + v.system) / 1e6);
      if (n < info.size) throw new Error(`${side}: ${n} bytes of ${info.size}`);
    }
  }
  // the parts of a verified pull alone, on this thread, the same bytes in the socket's 64 KiB chunks:
  // sha256 (what the checksum costs) and writing the file (what curl also pays)
  const bytes = crypto.randomBytes(info.size);
  const CHUNK = 64 * 1024;
  const alone = { sha256_alone: [] as number[], write_alone: [] as number[] };
  for (let r = 0; r < repeats; r++) {
    let t0 = performance.now();
    const h = crypto.createHash("sha256");
    for (let o = 0; o < bytes.length; o += CHUNK) h.update(bytes.subarray(o, o + CHUNK));
    h.digest();
    alone.sha256_alone.push((performance.now() - t0) / 1000);
    const f = path.join(tmp, "write-alone.bin");
    t0 = performance.now();
    const fd = fs.openSync(f, "w");
    for (let o = 0; o < bytes.length; o += CHUNK) fs.writeSync(fd, bytes, o, Math.min(CHUNK, bytes.length - o));
    fs.closeSync(fd);
    alone.write_alone.push((performance.now() - t0) / 1000);
    fs.rmSync(f);
  }
  Object.assign(times, alone);
} finally {
  server.kill();
  fs.rmSync(tmp, { recursive: true, force: true });
}

const mbps = (s: number): number => info.size / 1024 / 1024 / s;
const result = {
  machine: `${os.cpus().length} x ${os.cpus()[0]?.model ?? "cpu"}, load ${os.loadavg().map((x) => x.toFixed(2)).join(" ")}`,
  file_mib: info.size / 1024 / 1024,
  repeats,
  seconds: {
    clip_pull: median(times.clip),
    curl: median(times.curl),
    pullRepo_in_process: median(times.inprocess),
    node_http_drop: median(times.node_http_drop),
    node_socket_drop: median(times.node_socket_drop),
    sha256_alone: median(times.sha256_alone ?? [NaN]),
    write_alone: median(times.write_alone ?? [NaN]),
  },
  ratio_clip_pull_to_curl: median(times.curl) / median(times.clip),
  ratio_in_process_to_curl: median(times.curl) / median(times.inprocess),
  ratio_node_http_drop_to_curl: median(times.curl) / median(times.node_http_drop),
  ratio_node_socket_drop_to_curl: median(times.curl) / median(times.node_socket_drop),
  cpu_seconds: {
    clip_pull: median(cpu.clip),
    curl: median(cpu.curl),
    pullRepo_in_process: median(cpu.inprocess),
    node_http_drop: median(cpu.node_http_drop),
    node_socket_drop: median(cpu.node_socket_drop),
  },
  all_seconds: times,
  all_cpu_seconds: cpu,
};
if (values.json) process.stdout.write(JSON.stringify(result) + "\n");
else {
  process.stdout.write(`machine: ${result.machine}\nfile: ${result.file_mib} MiB, ${repeats} repeats, medians\n`);
  process.stdout.write(`| side | seconds | MiB/s | CPU seconds (user + sys) |\n| --- | --- | --- | --- |\n`);
  for (const [k, s] of Object.entries(result.seconds)) {
    const c = result.cpu_seconds[k as keyof typeof result.cpu_seconds];
    process.stdout.write(`| ${k} | ${s.toFixed(3)} | ${mbps(s).toFixed(0)} | ${c === undefined ? "(one thread: = seconds)" : c.toFixed(2)} |\n`);
  }
  process.stdout.write(`clip pull / curl throughput: ${(100 * result.ratio_clip_pull_to_curl).toFixed(1)} % (in-process pullRepo: ${(100 * result.ratio_in_process_to_curl).toFixed(1)} %)\n`);
  process.stdout.write(
    `ceilings, bytes dropped: Node's HTTP client ${(100 * result.ratio_node_http_drop_to_curl).toFixed(1)} % of curl, a bare socket ${(100 * result.ratio_node_socket_drop_to_curl).toFixed(1)} %\n`,
  );
}
