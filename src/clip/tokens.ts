/** @file Token ids as the towers take them: one tokenizer call with the model's truncation policy, as int64. */
import type { ClipTokenizer, TruncatePolicy } from "../tokenizer/index.js";

/** Token ids [n, contextLength] of `texts` as int64, truncated per `opts.truncate` (default "warn", warnings to stderr). */
export function tokenIds(
  tok: ClipTokenizer,
  texts: string[],
  contextLength: number,
  opts: { truncate?: TruncatePolicy; onWarning?: (message: string, truncatedTexts?: number) => void } = {},
): BigInt64Array {
  const { data } = tok.tokenizeTensor(texts, {
    contextLength,
    truncate: opts.truncate ?? "warn",
    onWarning: (m, st) => (opts.onWarning ?? ((s: string) => process.stderr.write(`clip: warning: ${s}\n`)))(m, st.texts),
  });
  const ids = new BigInt64Array(data.length);
  for (let i = 0; i < data.length; i++) ids[i] = BigInt(data[i]!);
  return ids;
}
