/** @file HttpError: a refusal with its status code; the server answers `{"error": message}` with it. */

/** A request the server refuses: 4xx for the client's mistakes, 503/504 for load and time limits. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
    this.name = "HttpError";
  }
}

/** 400 naming the field: `field: message`. */
export const badRequest = (field: string, message: string): HttpError => new HttpError(400, `${field}: ${message}`);

/** 413 naming the field and the limit. */
export const tooLarge = (field: string, message: string): HttpError => new HttpError(413, `${field}: ${message}`);
