/** @file Route options that validate a JSON body (multipart bodies are read and checked by the handlers). */

/** Fastify route options whose JSON body must match `schema`. */
export function jsonBody(schema: Record<string, unknown>): { schema: { body: { content: { "application/json": { schema: Record<string, unknown> } } } } } {
  return { schema: { body: { content: { "application/json": { schema } } } } };
}
