/** @file The server's limits and batching settings, with their defaults. */
import type { BatcherOptions } from "./batcher.js";
import type { InputLimits } from "./engine.js";

/** Every size and count the server enforces. */
export interface ServerLimits extends InputLimits {
  /** Request body bytes (413 beyond). */
  maxBodyBytes: number;
  /** Bytes per image file, base64-decoded or uploaded (413 beyond). */
  maxImageBytes: number;
  /** Texts per /v1/embed request. */
  maxTexts: number;
  /** Images per /v1/embed request. */
  maxImages: number;
  /** Labels per /v1/classify request. */
  maxLabels: number;
  /** Templates per /v1/classify request. */
  maxTemplates: number;
  /** Prompts (labels x templates) per /v1/classify request: each is a text the model encodes. */
  maxPrompts: number;
  /** Results per search. */
  maxK: number;
  /** Time a client may take to send its request (slow senders are cut off). */
  requestTimeoutMs: number;
}

/** The limits `clip serve` uses unless told otherwise. */
export const DEFAULT_LIMITS: ServerLimits = {
  maxBodyBytes: 32 * 1024 * 1024,
  maxImageBytes: 16 * 1024 * 1024,
  maxTexts: 256,
  maxImages: 32,
  maxLabels: 256,
  maxTemplates: 100,
  maxPrompts: 2048,
  maxK: 1000,
  maxTextChars: 2000,
  maxPixels: 50_000_000,
  requestTimeoutMs: 60_000,
};

/**
 * Batching defaults: 32 items a call, 2 ms of waiting for company, 256 queued requests, 30 s to
 * answer, and a second full batch prepared (images decoded) while a call runs.
 */
export const DEFAULT_BATCHING: Required<BatcherOptions> = {
  maxBatch: 32,
  maxWaitMs: 2,
  maxQueue: 256,
  timeoutMs: 30_000,
  maxInFlight: 2,
};
