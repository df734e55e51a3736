/** @file Shared CLI output helpers: the one JSON document on stdout, progress bars on stderr. */
import cliProgress from "cli-progress";
import { UserError } from "../errors.js";

/** Exit code of a command given explicit files (classify, embed) when some of them could not be used. */
export const EXIT_SOME_INPUTS_FAILED = 3;

/** Prints one JSON document on stdout (the `--json` contract). */
export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value) + "\n");
}

/** A progress bar on stderr; silent when stderr is not a terminal unless forced. */
export interface Progress {
  tick(n?: number, payload?: Record<string, unknown>): void;
  stop(): void;
}

export function progressBar(label: string, total: number, format?: string): Progress {
  if (!process.stderr.isTTY || process.env.CLIP_NO_PROGRESS) {
    return { tick() {}, stop() {} };
  }
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: format ?? `${label} [{bar}] {value}/{total} {percentage}% | {eta_formatted} left`,
      hideCursor: true,
      clearOnComplete: false,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0);
  return {
    tick(n = 1, payload) {
      bar.increment(n, payload);
    },
    stop() {
      bar.stop();
    },
  };
}

/** Warnings go to stderr, never stdout. */
export function warn(message: string): void {
  process.stderr.write(`clip: warning: ${message}\n`);
}

/**
 * The files a command was given that could not be read or decoded (`errors[i]` non-null): with
 * `strict` the first is a UserError (exit 2, nothing printed); else one stderr line each, and the
 * exit code becomes EXIT_SOME_INPUTS_FAILED once the good results are printed.
 */
export function reportFileErrors(errors: readonly (string | null)[], strict: boolean | undefined): void {
  const bad = errors.filter((e): e is string => e !== null);
  if (bad.length === 0) return;
  if (strict) throw new UserError(bad[0]!);
  for (const e of bad) process.stderr.write(`clip: error: ${e}\n`);
  process.stderr.write(`clip: ${bad.length} of ${errors.length} image(s) could not be used; results printed for the rest (exit code ${EXIT_SOME_INPUTS_FAILED})\n`);
  process.exitCode = EXIT_SOME_INPUTS_FAILED;
}
