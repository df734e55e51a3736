/** @file The library's public API. */
export { UserError, InternalError } from "./errors.js";
