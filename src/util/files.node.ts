/** @file Reading a user's text file with one clear error (which file, what it was for, why not). Node only. */
import { readFile } from "node:fs/promises";
import { UserError } from "../errors.js";

/** The UTF-8 text of `file`; a missing or unreadable file is a UserError naming it and `what` it was for. */
export async function readTextFile(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (e) {
    throw new UserError(`cannot read ${what} ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
}
