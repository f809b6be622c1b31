import { randomBytes } from "node:crypto";

/**
 * What the publisher puts in every message body, so that latency, loss,
 * duplicates and reordering are measured from the body alone: any server
 * that passes bodies through can be measured, whatever its ids and framing.
 */
export interface Stamp {
  /** Unique key: channel and sequence. */
  k: string;
  /** Per-channel sequence number, from 1. */
  seq: number;
  /** Scheduled publish time, monotonic ms. */
  sch: number;
  /** Actual send time, monotonic ms. */
  snt: number;
  /** Padding up to the scenario's payload size. */
  pad?: string;
}

/**
 * Builds a body whose JSON text is `payloadBytes` long (at least the stamp
 * itself), padded with `payload`: English words (compressible, as chat and
 * JSON are) or base64 of random bytes (compresses barely: 6 bits of
 * entropy per character). Both need no escaping in JSON, so the length holds.
 */
export function buildBody(
  channel: string,
  seq: number,
  sch: number,
  snt: number,
  payloadBytes: number,
  payload: "text" | "random" = "text",
): Stamp {
  const body: Stamp = { k: `${channel}:${seq}`, seq, sch, snt };
  // `,"pad":""` adds 9 bytes before any padding characters.
  const baseBytes = Buffer.byteLength(JSON.stringify(body)) + 9;
  const padBytes = payloadBytes - baseBytes;
  if (padBytes >= 0) body.pad = payload === "random" ? randomPad(padBytes) : textPad(padBytes);
  return body;
}

const TEXT =
  "the quick brown fox jumps over the lazy dog while the publisher sends another message ";
let longText = TEXT;

function textPad(length: number): string {
  while (longText.length < length) longText += longText;
  return longText.slice(0, length);
}

function randomPad(length: number): string {
  return randomBytes(Math.ceil((length * 3) / 4) + 3)
    .toString("base64")
    .slice(0, length);
}

/** Reads a stamp from a received body; null when the body is not one of ours. */
export function readStamp(body: unknown): Stamp | null {
  if (typeof body !== "object" || body === null) return null;
  const stamp = body as Partial<Stamp>;
  if (
    typeof stamp.seq !== "number" ||
    typeof stamp.sch !== "number" ||
    typeof stamp.snt !== "number"
  ) {
    return null;
  }
  return stamp as Stamp;
}
