/**
 * @file POST /v1/embed and POST /v1/classify: JSON (images as base64) or multipart uploads,
 * validated, then answered through the batched Engine.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import { UserError } from "../errors.js";
import { getTemplates, validateTemplates } from "../eval/templates.js";
import { validateClassnames } from "../eval/zeroshot.js";
import type { Engine } from "./engine.js";
import { badRequest, HttpError } from "./http_error.js";
import { decodeBase64, labelList, onlyParts, readMultipart } from "./inputs.js";
import type { ServerLimits } from "./limits.js";
import { jsonBody } from "./schema.js";

interface EmbedBody {
  texts?: string[];
  images?: string[];
}

interface ClassifyBody {
  image: string;
  labels: string | string[];
  templates?: string | string[];
}

const rowsOut = (rows: Float32Array[]): number[][] => rows.map((r) => Array.from(r));

/** A UserError from library validation as a 400 naming `field`. */
function asField<T>(field: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof UserError) throw badRequest(field, e.message.replace(/^(labels|templates): /, ""));
    throw e;
  }
}

/** `templates`: a list of templates with {}, one template, or the name of a built-in set; default "simple". */
function templatesOf(v: string | string[] | undefined, limits: ServerLimits): string[] {
  if (v === undefined) return getTemplates("simple");
  const list = typeof v !== "string" ? v : v.includes("{}") ? [v] : asField("templates", () => getTemplates(v.trim()));
  if (list.length > limits.maxTemplates) throw badRequest("templates", `${list.length} templates, more than the limit of ${limits.maxTemplates}`);
  asField("templates", () => validateTemplates(list));
  return list;
}

/** POST /v1/embed and POST /v1/classify on `app`. */
export function registerModelRoutes(app: FastifyInstance, engine: Engine, limits: ServerLimits): void {
  const str = { type: "string" } as const;
  app.post(
    "/v1/embed",
    jsonBody({
      type: "object",
      additionalProperties: false,
      properties: {
        texts: { type: "array", items: str, maxItems: limits.maxTexts },
        images: { type: "array", items: str, maxItems: limits.maxImages },
      },
    }),
    async (req: FastifyRequest) => {
      let texts: string[];
      let images: Uint8Array[];
      if (req.isMultipart()) {
        const body = await readMultipart(req, limits.maxBodyBytes);
        onlyParts(body, ["texts", "text"], ["images", "image"]);
        texts = body.fields.map((f) => f.value);
        images = body.files.map((f) => f.bytes);
        if (texts.length > limits.maxTexts) throw badRequest("texts", `${texts.length} texts, more than the limit of ${limits.maxTexts}`);
      } else {
        const body = (req.body ?? {}) as EmbedBody;
        texts = body.texts ?? [];
        images = (body.images ?? []).map((s, i) => decodeBase64(s, `images[${i}]`, limits.maxImageBytes));
      }
      if (texts.length === 0 && images.length === 0) throw badRequest("texts/images", "give at least one non-empty list of texts or images");
      engine.checkTexts(texts, "texts");
      await engine.checkImages(images, "images");
      const [t, i] = await Promise.all([engine.embedTexts(texts), engine.embedImages(images)]);
      return { text_embeddings: rowsOut(t), image_embeddings: rowsOut(i) };
    },
  );

  const labelsSchema = { anyOf: [str, { type: "array", items: str, minItems: 1, maxItems: limits.maxLabels }] };
  app.post(
    "/v1/classify",
    jsonBody({
      type: "object",
      additionalProperties: false,
      required: ["image", "labels"],
      properties: { image: str, labels: labelsSchema, templates: { anyOf: [str, { type: "array", items: str, minItems: 1 }] } },
    }),
    async (req: FastifyRequest) => {
      let image: Uint8Array;
      let rawLabels: string | string[];
      let rawTemplates: string | string[] | undefined;
      if (req.isMultipart()) {
        const body = await readMultipart(req, limits.maxBodyBytes);
        onlyParts(body, ["labels", "templates", "image"], ["image"]);
        const files = body.files;
        const b64 = body.fields.filter((f) => f.name === "image");
        if (files.length + b64.length !== 1) throw badRequest("image", `give exactly one image (got ${files.length + b64.length})`);
        image = files[0]?.bytes ?? decodeBase64(b64[0]!.value, "image", limits.maxImageBytes);
        const labels = body.fields.filter((f) => f.name === "labels").map((f) => f.value);
        if (labels.length === 0) throw badRequest("labels", "required field is missing");
        rawLabels = labels.length === 1 ? labels[0]! : labels;
        const templates = body.fields.filter((f) => f.name === "templates").map((f) => f.value);
        rawTemplates = templates.length === 0 ? undefined : templates.length === 1 ? templates[0] : templates;
      } else {
        const body = req.body as ClassifyBody;
        image = decodeBase64(body.image, "image", limits.maxImageBytes);
        rawLabels = body.labels;
        rawTemplates = body.templates;
      }
      const labels = labelList(rawLabels, "labels");
      if (labels.length > limits.maxLabels) throw badRequest("labels", `${labels.length} labels, more than the limit of ${limits.maxLabels}`);
      asField("labels", () => validateClassnames(labels));
      const templates = templatesOf(rawTemplates, limits);
      const prompts = labels.length * templates.length;
      if (prompts > limits.maxPrompts) throw badRequest("labels/templates", `${labels.length} labels x ${templates.length} templates = ${prompts} prompts, more than the limit of ${limits.maxPrompts}`);
      engine.checkTexts(labels, "labels");
      await engine.checkImages([image], "image");
      try {
        return await engine.classify(image, labels, templates);
      } catch (e) {
        // a prompt (template filled with a label) past the context length
        if (e instanceof UserError) throw new HttpError(400, `labels/templates: ${e.message}`);
        throw e;
      }
    },
  );
}
