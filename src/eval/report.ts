/** @file Markdown rendering shared by the evaluation reports. */

/** Escapes a table cell: pipes and newlines would break the row. */
function cell(v: string | number): string {
  return String(v).replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
}

/** A GitHub-flavoured Markdown table; `align` per column ("l" default, "r" for numbers). */
export function markdownTable(headers: string[], rows: (string | number)[][], align?: ("l" | "r")[]): string {
  const sep = headers.map((_, i) => ((align?.[i] ?? "l") === "r" ? "---:" : "---"));
  const line = (cells: (string | number)[]) => `| ${cells.map(cell).join(" | ")} |`;
  return [line(headers), `| ${sep.join(" | ")} |`, ...rows.map(line)].join("\n");
}

/** A fraction in [0, 1] as a percentage with two decimals: 0.12345 -> "12.35". */
export function pct(x: number | null | undefined): string {
  return x === null || x === undefined || Number.isNaN(x) ? "-" : (100 * x).toFixed(2);
}
