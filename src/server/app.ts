/**
 * @file createServer: the fastify app of `clip serve`. Routes validate and serialize; the batched
 * Engine does the model work. Every refusal is `{"error": "..."}` with a 4xx/5xx status, and the
 * server keeps serving after any of them.
 */
import Fastify, { type FastifyError, type FastifyInstance } from "fastify";
import multipart from "@fastify/multipart";
import { UserError } from "../errors.js";
import type { SearchBackend } from "./backend.js";
import type { BatcherOptions } from "./batcher.js";
import { Engine, type ServeModel } from "./engine.js";
import { HttpError } from "./http_error.js";
import { validationMessage } from "./inputs.js";
import { DEFAULT_BATCHING, DEFAULT_LIMITS, type ServerLimits } from "./limits.js";
import { ServerMetrics } from "./metrics.js";
import { registerModelRoutes } from "./routes_model.js";
import { registerPageRoutes } from "./routes_page.js";
import { registerSearchRoutes } from "./routes_search.js";
import { loadStaticFiles } from "./static.js";

export interface ServerOptions {
  batching?: Partial<BatcherOptions>;
  limits?: Partial<ServerLimits>;
  /** The index behind /v1/search and /v1/images/:id; without it they answer 404. */
  search?: SearchBackend;
  /** Receives 5xx errors (default: stderr). */
  onError?: (e: unknown) => void;
}

/** The app with its engine and metrics (tests read both). */
export interface ClipServer {
  app: FastifyInstance;
  engine: Engine;
  metrics: ServerMetrics;
  /** Stops accepting, lets in-flight requests finish, then drains the batchers. */
  close(): Promise<void>;
}

/** Fastify's own 4xx errors, reworded to name what was wrong. */
function frameworkMessage(e: FastifyError, limits: ServerLimits): string {
  switch (e.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return `body: larger than the limit of ${limits.maxBodyBytes} bytes`;
    case "FST_REQ_FILE_TOO_LARGE":
      return `image: file larger than the limit of ${limits.maxImageBytes} bytes`;
    case "FST_FILES_LIMIT":
    case "FST_PARTS_LIMIT":
    case "FST_FIELDS_LIMIT":
      return `body: too many form parts (${e.message})`;
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return `content-type: unsupported (${e.message}); send application/json or multipart/form-data`;
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return "body: empty, expected a JSON object";
    case "FST_ERR_CTP_INVALID_JSON_BODY":
      return "body: not valid JSON";
    default:
      return `${e.message}`;
  }
}

/** Builds the app; call `app.listen` to serve. */
export async function createServer(model: ServeModel, opts: ServerOptions = {}): Promise<ClipServer> {
  const limits: ServerLimits = { ...DEFAULT_LIMITS, ...opts.limits };
  const batching: BatcherOptions = { ...DEFAULT_BATCHING, ...opts.batching };
  const onError = opts.onError ?? ((e: unknown) => process.stderr.write(`clip serve: internal error: ${(e as Error)?.stack ?? String(e)}\n`));
  // read at scrape time, after `engine` exists
  const metrics: ServerMetrics = new ServerMetrics((): [Record<string, string>, number][] => [
    [{ tower: "text" }, engine.texts.depth],
    [{ tower: "image" }, engine.images.depth],
  ]);
  const engine: Engine = new Engine(model, batching, limits, metrics);
  const files = loadStaticFiles();

  const app = Fastify({
    bodyLimit: limits.maxBodyBytes,
    requestTimeout: limits.requestTimeoutMs,
    return503OnClosing: true,
    keepAliveTimeout: 5000,
    forceCloseConnections: "idle",
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
    logger: false,
  });
  // bodies are JSON or multipart/form-data; anything else is 415
  app.removeContentTypeParser("text/plain");
  await app.register(multipart, {
    limits: { fileSize: limits.maxImageBytes, files: limits.maxImages, fields: limits.maxTexts + 16, fieldSize: limits.maxTextChars * 4 + 1024, parts: limits.maxImages + limits.maxTexts + 16 },
  });

  app.setErrorHandler((err: FastifyError | HttpError | UserError | Error, _req, reply) => {
    let status: number;
    let message: string;
    const fe = err as FastifyError;
    if (fe.validation) {
      status = 400;
      message = validationMessage(fe.validation as never, fe.validationContext);
    } else if (err instanceof HttpError) {
      [status, message] = [err.statusCode, err.message];
    } else if (err instanceof UserError) {
      [status, message] = [400, err.message];
    } else if (typeof fe.statusCode === "number" && fe.statusCode >= 400 && fe.statusCode < 500) {
      [status, message] = [fe.statusCode, frameworkMessage(fe, limits)];
    } else {
      onError(err);
      [status, message] = [500, "internal error (see the server's log)"];
    }
    return reply.code(status).send({ error: message });
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).send({ error: `not found: ${req.method} ${req.url.split("?")[0]!.slice(0, 200)}` }));

  // while closing, answers to requests already in flight end their connections, so close() need not wait out keep-alive
  let closing = false;
  app.addHook("onSend", async (_req, reply) => {
    if (closing) reply.header("connection", "close");
  });
  app.addHook("onResponse", async (req, reply) => {
    const route = req.routeOptions.url ?? "unmatched";
    metrics.requests.inc({ route, method: req.method, status: String(reply.statusCode) });
    metrics.latency.observe(reply.elapsedTime / 1000, { route });
  });

  registerPageRoutes(app, engine, metrics, files, opts.search);
  registerModelRoutes(app, engine, limits);
  registerSearchRoutes(app, engine, limits, opts.search);

  return {
    app,
    engine,
    metrics,
    close: async () => {
      closing = true;
      await app.close();
      await engine.close();
    },
  };
}
