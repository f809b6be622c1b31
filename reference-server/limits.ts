import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";

/**
 * The limits that keep one client from holding the server's memory, time or
 * file descriptors. Each has a default; `ReferenceServerOptions` may set any.
 */
export interface ServerLimits {
  /** Deepest nesting of arrays and objects in a publish (HTTP body or WebSocket frame), envelope included. */
  maxBodyDepth: number;
  /** Messages per poll answer; the cursor continues from the last one sent. */
  maxPollBatch: number;
  /** Bytes of messages per poll answer, about (one message is always sent, whatever its size). */
  maxPollBytes: number;
  /** A client that does not take what was written to it within this long is cut off. */
  writeTimeoutMs: number;
  /** Time allowed to receive a request's headers and body (streams and held polls are not limited). */
  requestTimeoutMs: number;
  /** Open connections beyond which new subscribers get 503 (publishes, /healthz and /metrics still pass). */
  maxConnections: number;
}

export const DEFAULT_MAX_BODY_DEPTH = 64;
/** Beyond this V8 would recurse deep enough to risk its stack when serialising. */
export const MAX_BODY_DEPTH_LIMIT = 1000;
export const DEFAULT_MAX_POLL_BATCH = 1000;
export const DEFAULT_MAX_POLL_BYTES = 256 * 1024;
export const DEFAULT_WRITE_TIMEOUT_MS = 10_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
/** Descriptors kept back for /healthz, /metrics, publishes, Redis and the refused subscribers' own sockets. */
const DESCRIPTOR_RESERVE = 100;
/** Without a descriptor limit to go by (not Linux, no shell). */
const FALLBACK_MAX_CONNECTIONS = 10_000;

export function resolveLimits(options: Partial<ServerLimits>): ServerLimits {
  if ((options.maxBodyDepth ?? 0) > MAX_BODY_DEPTH_LIMIT) {
    throw new RangeError(`maxBodyDepth must be at most ${MAX_BODY_DEPTH_LIMIT}`);
  }
  return {
    maxBodyDepth: options.maxBodyDepth ?? DEFAULT_MAX_BODY_DEPTH,
    maxPollBatch: options.maxPollBatch ?? DEFAULT_MAX_POLL_BATCH,
    maxPollBytes: options.maxPollBytes ?? DEFAULT_MAX_POLL_BYTES,
    writeTimeoutMs: options.writeTimeoutMs ?? DEFAULT_WRITE_TIMEOUT_MS,
    requestTimeoutMs: options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    maxConnections: options.maxConnections ?? defaultMaxConnections(),
  };
}

/**
 * 90 % of this process's open-file limit minus a reserve: subscribers are
 * refused with a 503 well before accept() starts failing, which would reset
 * every new connection, health checks and publishes included.
 */
export function defaultMaxConnections(limit = descriptorLimit()): number {
  if (limit === null) return FALLBACK_MAX_CONNECTIONS;
  return Math.max(1, Math.floor(limit * 0.9) - DESCRIPTOR_RESERVE);
}

/** The soft limit on open files (`ulimit -n`), or null when it cannot be found. */
export function descriptorLimit(): number | null {
  try {
    const found = readFileSync("/proc/self/limits", "utf8").match(/^Max open files\s+(\d+)/m);
    if (found) return Number(found[1]);
  } catch {
    // not Linux: ask a shell below
  }
  const shell = spawnSync("sh", ["-c", "ulimit -n"], { encoding: "utf8", timeout: 2000 });
  const value = Number(shell.stdout?.trim());
  return Number.isSafeInteger(value) && value > 0 ? value : null;
}
