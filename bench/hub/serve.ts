/**
 * @file The bench's hub: the tests' local hub (test/helpers/hub_server.ts) in a process of its own,
 * serving `bench/big`: open_clip_config.json, vocab.json + merges.txt, and a random
 * open_clip_model.safetensors of --mb MiB (an LFS file: 302 from the hub to the CDN origin).
 * Prints {endpoint, url, size, sha256} on one line, then serves until killed.
 */
import crypto from "node:crypto";
import { parseArgs } from "node:util";
import { HubServer } from "../../test/helpers/hub_server.js";

const { values } = parseArgs({ options: { mb: { type: "string", default: "200" } } });
const size = Number(values.mb) * 1024 * 1024;
const big = crypto.randomBytes(size);
const server = new HubServer();
await server.start();
const config = Buffer.from(JSON.stringify({ model_cfg: { embed_dim: 8 }, preprocess_cfg: {} }));
// a (dummy) vocabulary, so that clip pull does not look for OpenAI's tokenizer elsewhere
const vocab = { "vocab.json": Buffer.from("{}"), "merges.txt": Buffer.from("#version: 0.2\n") };
server.addRepo("bench/big", { files: { "open_clip_config.json": config, "open_clip_model.safetensors": big, ...vocab } });
const sha256 = crypto.createHash("sha256").update(big).digest("hex");
process.stdout.write(JSON.stringify({ endpoint: server.endpoint, url: `${server.endpoint}/bench/big/resolve/main/open_clip_model.safetensors`, size, sha256 }) + "\n");
