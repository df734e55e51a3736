/** @file Runs the `clip` command in a child process (asynchronously, so servers in the test process keep answering). */
import { execFile } from "node:child_process";
import { CLI } from "./shared.js";

/** Exit code (-1 when killed by a signal, named at the end of stderr), stdout and stderr of one run. */
export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** `clip ARGS` with progress bars off and `env` added to this process's environment. */
export function runClip(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { encoding: "utf8", env: { ...process.env, CLIP_NO_PROGRESS: "1", ...env }, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const e = err as (Error & { code?: number | string; signal?: string }) | null;
      resolve({ code: e ? (typeof e.code === "number" ? e.code : -1) : 0, stdout, stderr: e?.signal ? `${stderr}\n(killed by ${e.signal})` : stderr });
    });
  });
}
