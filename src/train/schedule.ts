/** @file Learning-rate schedules as open_clip defines them (scheduler.py). */

export type ScheduleKind = "cosine" | "const";

/** Learning rate at 0-based `step`: linear warmup over `warmup` steps, then cosine to 0 or constant. */
export function learningRate(kind: ScheduleKind, base: number, warmup: number, steps: number, step: number): number {
  if (step < warmup) return (base * (step + 1)) / warmup;
  if (kind === "const") return base;
  const e = step - warmup;
  const es = steps - warmup;
  return es <= 0 ? base : 0.5 * (1 + Math.cos((Math.PI * e) / es)) * base;
}
