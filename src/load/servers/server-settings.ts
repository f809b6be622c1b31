/**
 * The reference server's settings as a run sees them: built from the
 * scenario's `server` section for each instance it starts, and read back
 * from an instance's `/healthz` for the result.
 */
import type { ServerOptions } from "../../scenario/types.js";
import { BROKER_KINDS } from "../../shared/brokers.js";
import type { EffectiveServerSettings, ServerLaunchSettings } from "../../shared/server-launch.js";

/**
 * Under sticky routing instance i numbers messages from (i + 1) × this: far
 * beyond what one run publishes, far below 2^53 for 16 instances. A client
 * that fails over brings a cursor the next instance can tell is not its own.
 */
export const STICKY_ID_SPACING = 1_000_000_000_000;

/**
 * One launch per instance of `server.instances`, each with every field of the
 * section. `port` is 0 here: the caller picks a free port per instance and
 * keeps it across restarts.
 */
export function serverLaunches(
  server: ServerOptions,
  brokerUrl: string | null,
  /** Keeps this run's keys apart from other runs sharing the broker's service. */
  brokerPrefix: string | null = null,
  /** The certificate and key files every instance serves (server.tls); null: plain HTTP. */
  tlsFiles: { cert: string; key: string } | null = null,
  /** websocket.deflate: the threshold the instances compress from; null: deflate refused. */
  wsDeflateThreshold: number | null = null,
  /** Where the instances listen: loopback, or the bridge of workers in namespaces (workers/netns.ts). */
  host = "127.0.0.1",
): ServerLaunchSettings[] {
  return Array.from({ length: server.instances }, (_, index) => ({
    port: 0,
    host,
    broker: server.broker,
    brokerUrl,
    // The command line takes whole milliseconds; scenario durations may have fractions.
    heartbeatIntervalMs: Math.round(server.heartbeatIntervalMs),
    presenceTtlMs: Math.round(server.presenceTtlMs),
    history: {
      maxCount: server.history.maxCount,
      maxAgeMs: Math.round(server.history.maxAgeMs),
    },
    maxBodyBytes: server.maxBodyBytes,
    deliveryDelayMs: Math.round(server.deliveryDelayMs),
    instanceId: String(index),
    // Faults drop connections through POST /admin/drop; the port is loopback-only.
    admin: true,
    limits: {
      maxBodyDepth: server.maxBodyDepth,
      maxPollBatch: server.maxPollBatch,
      maxPollBytes: server.maxPollBytes,
      writeTimeoutMs: Math.ceil(server.writeTimeoutMs),
      requestTimeoutMs: Math.ceil(server.requestTimeoutMs),
      maxConnections: server.maxConnections,
      redisCommandTimeoutMs: Math.ceil(server.redisCommandTimeoutMs),
    },
    h2: {
      maxStreams: server.h2.maxStreams,
      idleTimeoutMs: Math.ceil(server.h2.idleTimeoutMs),
    },
    brokerPrefix,
    routing: server.routing,
    fanout: server.fanout,
    presenceEvents: server.presenceEvents,
    presenceBatchMs: Math.round(server.presenceBatchMs),
    idBase: server.routing === "sticky" ? (index + 1) * STICKY_ID_SPACING : 0,
    allowOrigins: server.allowOrigins.length > 0 ? server.allowOrigins.join(",") : null,
    tlsCert: tlsFiles?.cert ?? null,
    tlsKey: tlsFiles?.key ?? null,
    wsDeflateThreshold,
  }));
}

/**
 * What the instance at `url` says it runs with (`GET /healthz`, `settings`).
 * Null when it does not say: a server that is not the reference server, or
 * one that did not answer within 5 s.
 */
export async function readServerSettings(url: string): Promise<EffectiveServerSettings | null> {
  try {
    const response = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(5000) });
    if (!response.ok) {
      await response.arrayBuffer();
      return null;
    }
    const body = (await response.json()) as { settings?: unknown };
    return isEffectiveSettings(body.settings) ? body.settings : null;
  } catch {
    return null;
  }
}

function isEffectiveSettings(value: unknown): value is EffectiveServerSettings {
  if (typeof value !== "object" || value === null) return false;
  const s = value as Record<string, unknown>;
  const numbers = [
    "heartbeatIntervalMs",
    "presenceTtlMs",
    "maxBodyBytes",
    "deliveryDelayMs",
    "presenceBatchMs",
  ] as const;
  return (
    typeof s.instanceId === "string" &&
    (BROKER_KINDS as readonly unknown[]).includes(s.broker) &&
    numbers.every((key) => typeof s[key] === "number") &&
    (s.history === null || typeof s.history === "object")
  );
}
