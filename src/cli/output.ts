/** @file Shared CLI output helpers: the one JSON document on stdout, progress bars on stderr. */
import cliProgress from "cli-progress";

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
