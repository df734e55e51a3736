/** @file Error types: user mistakes (printed as one line by the CLI) versus our own bugs. */

/** A mistake in the user's input: bad file, bad flag, bad data. The CLI prints `message` only. */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UserError";
  }
}

/** A broken invariant inside the library: always our bug. */
export class InternalError extends Error {
  constructor(message: string) {
    super(`internal: ${message}`);
    this.name = "InternalError";
  }
}

/** Formats a shape for error messages: [2,3,?B]. */
export function fmtShape(shape: readonly (number | string)[]): string {
  return `[${shape.join(",")}]`;
}
