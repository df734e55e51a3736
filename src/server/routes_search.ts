/**
 * @file GET/POST /v1/search and GET /v1/images/:id over a SearchBackend. Query parameters are
 * checked here (k, min_score, ids); images are served by id only, never by a client's path.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { UserError } from "../errors.js";
import { sniffFormat } from "../image/decode.js";
import { ID_PATTERN, type SearchBackend, type SearchQuery } from "./backend.js";
import type { Engine } from "./engine.js";
import { badRequest, HttpError } from "./http_error.js";
import { decodeBase64, onlyParts, readMultipart } from "./inputs.js";
import type { ServerLimits } from "./limits.js";
import { jsonBody } from "./schema.js";

/** Search parameters as they arrive: strings (query string, form fields) or JSON values. */
type Params = Record<string, unknown>;

const FIELDS = ["q", "k", "like", "and", "not", "min_score", "where"];
const MAX_WHERE = 1000;

const CONTENT_TYPES: Record<string, string> = {
  jpeg: "image/jpeg",
  png: "image/png",
  gif: "image/gif",
  bmp: "image/bmp",
  webp: "image/webp",
  tiff: "image/tiff",
  heif: "image/heif",
};

function one(p: Params, name: string): string | undefined {
  const v = p[name];
  if (v === undefined) return undefined;
  if (Array.isArray(v)) {
    if (v.length !== 1) throw badRequest(name, "give it once");
    return one({ [name]: v[0] }, name);
  }
  if (typeof v !== "string") throw badRequest(name, `must be a string, got ${typeof v}`);
  return v;
}

function many(p: Params, name: string, engine: Engine): string[] | undefined {
  const v = p[name];
  if (v === undefined) return undefined;
  const list = Array.isArray(v) ? v : [v];
  list.forEach((x, i) => {
    if (typeof x !== "string" || x.trim() === "") throw badRequest(`${name}[${i}]`, "must be a non-empty string");
  });
  engine.checkTexts(list as string[], name);
  return list as string[];
}

function num(p: Params, name: string): number | undefined {
  const v = p[name];
  if (typeof v === "number") return v;
  const s = one(p, name);
  if (s === undefined) return undefined;
  const n = Number(s);
  if (s.trim() === "" || !Number.isFinite(n)) throw badRequest(name, `must be a number, got ${JSON.stringify(s)}`);
  return n;
}

/** A SearchQuery from parameters; `image` is a POST's upload. */
function parseQuery(p: Params, image: Uint8Array | undefined, engine: Engine, limits: ServerLimits): SearchQuery {
  for (const key of Object.keys(p)) if (!FIELDS.includes(key) && key !== "image") throw badRequest(key, `unknown parameter (expected ${FIELDS.join(", ")})`);
  const text = one(p, "q");
  if (text !== undefined) {
    if (text.trim() === "") throw badRequest("q", "empty query");
    engine.checkTexts([text], "q");
  }
  const like = one(p, "like");
  if (like !== undefined && !ID_PATTERN.test(like)) throw badRequest("like", "not a valid image id");
  if (text === undefined && like === undefined && image === undefined) throw badRequest("q", "give a query: q (text), like (an image id) or an image");
  const k = num(p, "k") ?? 20;
  if (!Number.isInteger(k) || k < 1 || k > limits.maxK) throw badRequest("k", `must be an integer from 1 to ${limits.maxK}, got ${k}`);
  const minScore = num(p, "min_score");
  if (minScore !== undefined && (minScore < -1 || minScore > 1)) throw badRequest("min_score", `must be between -1 and 1, got ${minScore}`);
  const where = one(p, "where");
  if (where !== undefined && where.length > MAX_WHERE) throw badRequest("where", `longer than ${MAX_WHERE} characters`);
  const q: SearchQuery = { k };
  if (text !== undefined) q.text = text;
  if (image !== undefined) q.image = image;
  if (like !== undefined) q.like = like;
  const and = many(p, "and", engine);
  const not = many(p, "not", engine);
  if (and) q.and = and;
  if (not) q.not = not;
  if (minScore !== undefined) q.minScore = minScore;
  if (where !== undefined) q.where = where;
  return q;
}

async function runSearch(backend: SearchBackend, q: SearchQuery): Promise<{ results: unknown[] }> {
  try {
    return { results: await backend.search(q) };
  } catch (e) {
    if (e instanceof UserError) throw new HttpError(400, e.message);
    throw e;
  }
}

/** GET/POST /v1/search and GET /v1/images/:id on `app`; without a backend they answer 404. */
export function registerSearchRoutes(app: FastifyInstance, engine: Engine, limits: ServerLimits, backend: SearchBackend | undefined): void {
  const need = (): SearchBackend => {
    if (!backend) throw new HttpError(404, "search: no index loaded (start the server with --db PATH)");
    return backend;
  };

  app.get("/v1/search", async (req: FastifyRequest) => runSearch(need(), parseQuery(req.query as Params, undefined, engine, limits)));

  app.post(
    "/v1/search",
    jsonBody({
      type: "object",
      additionalProperties: false,
      properties: {
        image: { type: "string" },
        q: { type: "string" },
        like: { type: "string" },
        and: { type: "array", items: { type: "string" } },
        not: { type: "array", items: { type: "string" } },
        k: { type: "integer" },
        min_score: { type: "number" },
        where: { type: "string" },
      },
    }),
    async (req: FastifyRequest) => {
      const b = need();
      let params: Params;
      let image: Uint8Array | undefined;
      if (req.isMultipart()) {
        const body = await readMultipart(req, limits.maxBodyBytes);
        onlyParts(body, FIELDS, ["image"]);
        if (body.files.length > 1) throw badRequest("image", `give one image (got ${body.files.length})`);
        image = body.files[0]?.bytes;
        params = {};
        for (const f of body.fields) params[f.name] = Object.hasOwn(params, f.name) ? ([] as unknown[]).concat(params[f.name], f.value) : f.value;
      } else {
        params = { ...((req.body ?? {}) as Params) };
        if (typeof params.image === "string") image = decodeBase64(params.image, "image", limits.maxImageBytes);
        delete params.image;
      }
      if (image) await engine.checkImages([image], "image");
      return runSearch(b, parseQuery(params, image, engine, limits));
    },
  );

  app.get("/v1/images/:id", async (req: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply) => {
    const { id } = req.params;
    if (!ID_PATTERN.test(id)) throw badRequest("id", "not a valid image id");
    const img = await need().imageById(id);
    if (!img) throw new HttpError(404, `id: no image with id ${id}`);
    // the type comes from the bytes, not from the stored name: nothing but an image is served
    const format = sniffFormat(img.bytes);
    return reply
      .header("content-type", format ? CONTENT_TYPES[format]! : "application/octet-stream")
      .header("x-content-type-options", "nosniff")
      .header("content-security-policy", "default-src 'none'; sandbox")
      .header("cache-control", "private, max-age=3600")
      .send(Buffer.from(img.bytes.buffer, img.bytes.byteOffset, img.bytes.byteLength));
  });
}
