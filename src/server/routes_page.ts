/** @file GET / and its assets (the page), GET /health and GET /metrics. */
import type { FastifyInstance, FastifyReply } from "fastify";
import type { SearchBackend } from "./backend.js";
import type { Engine } from "./engine.js";
import type { ServerMetrics } from "./metrics.js";
import type { StaticFile } from "./static.js";

/** Scripts, styles and fetches from this origin only; images also from the user's own drops (blob:, data:). */
const CSP = "default-src 'self'; img-src 'self' blob: data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/** The page's files, /health and /metrics on `app`. */
export function registerPageRoutes(app: FastifyInstance, engine: Engine, metrics: ServerMetrics, files: Map<string, StaticFile>, backend: SearchBackend | undefined): void {
  for (const [url, f] of files) {
    app.get(url, async (_req, reply: FastifyReply) =>
      reply
        .header("content-type", f.contentType)
        .header("content-security-policy", CSP)
        .header("x-content-type-options", "nosniff")
        .header("referrer-policy", "no-referrer")
        .header("cache-control", "no-cache")
        .send(f.body),
    );
  }

  app.get("/health", async () => {
    const m = engine.model;
    return {
      status: "ok",
      model: { source: m.source, embed_dim: m.embedDim, image_size: m.imageSize, context_length: m.contextLength, logit_scale: m.logitScale },
      search: backend ? await backend.info() : null,
      queue: { text: engine.texts.depth, image: engine.images.depth },
    };
  });

  app.get("/metrics", async (_req, reply: FastifyReply) => reply.header("content-type", "text/plain; version=0.0.4; charset=utf-8").send(metrics.render()));
}
