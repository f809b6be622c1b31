/**
 * The `server` section and the scenario's `variants:` (each a server section
 * applied over the top-level one), read with their defaults. Their checks
 * against each other and the rest of the scenario are in server-checks.ts.
 */
import type { BrokerKind } from "../shared/brokers.js";
import { PRESENCE_TTL_HEARTBEATS } from "./defaults.js";
import { type Doc, isMapping, type Reader, reader } from "./reader.js";
import { serverTlsOf } from "./tls-section.js";
import type {
  FanoutStrategy,
  ProxyBalance,
  ProxyKind,
  ProxyOptions,
  Routing,
  ServerOptions,
  Variant,
} from "./types.js";

/** The `server` section of `doc`, defaults applied (durations in ms). */
export function readServerOptions(read: Reader): ServerOptions {
  const heartbeatIntervalMs = read.duration("server.heartbeatInterval");
  return {
    instances: read.value("server.instances"),
    broker: read.value("server.broker") as BrokerKind,
    history: {
      maxCount: read.value("server.history.maxCount"),
      maxAgeMs: read.duration("server.history.maxAge"),
    },
    heartbeatIntervalMs,
    presenceTtlMs: read.durationOr(
      "server.presenceTtl",
      PRESENCE_TTL_HEARTBEATS * heartbeatIntervalMs,
    ),
    maxBodyBytes: read.value("server.maxBodyBytes"),
    deliveryDelayMs: read.duration("server.deliveryDelay"),
    // Resource limits; the same defaults as reference-server/limits.ts (a test keeps them equal).
    maxBodyDepth: read.value("server.maxBodyDepth"),
    maxPollBatch: read.value("server.maxPollBatch"),
    maxPollBytes: read.value("server.maxPollBytes"),
    writeTimeoutMs: read.duration("server.writeTimeout"),
    requestTimeoutMs: read.duration("server.requestTimeout"),
    // Absent: each instance derives it from its own open-file limit.
    maxConnections: (read.raw("server.maxConnections") as number | undefined) ?? null,
    redisCommandTimeoutMs: read.duration("server.redisCommandTimeout"),
    routing: read.value("server.routing") as Routing,
    fanout: read.value("server.fanout") as FanoutStrategy,
    presenceEvents: read.value("server.presenceEvents"),
    presenceBatchMs: read.duration("server.presenceBatch"),
    // The same defaults as reference-server/h2-sessions.ts.
    h2: {
      maxStreams: read.value("server.h2.maxStreams"),
      idleTimeoutMs: read.duration("server.h2.idleTimeout"),
    },
    // No default to write down: absent is none.
    auth: (read.raw("server.auth") as string | undefined) ?? null,
    allowOrigins: (read.raw("server.allowOrigins") as string[] | undefined) ?? [],
    // Paths as written; normalise resolves them from the scenario file.
    tls: serverTlsOf(read.raw("server.tls")),
    proxy: readProxyOptions(read),
  };
}

/** `server.proxy` with its defaults; null when absent (clients connect to the instances). */
function readProxyOptions(read: Reader): ProxyOptions | null {
  if (read.raw("server.proxy") === undefined) return null;
  return {
    kind: read.raw("server.proxy.kind") as ProxyKind,
    balance: read.value("server.proxy.balance") as ProxyBalance,
    buffering: read.value("server.proxy.buffering") === "on",
    idleTimeoutMs: read.duration("server.proxy.idleTimeout"),
    blockUpgrade: read.value("server.proxy.blockUpgrade") as boolean,
    tls: read.value("server.proxy.tls") as boolean,
  };
}

/** Each item of `variants:` with its server section merged over the top-level one. */
export interface VariantEntry {
  variant: Variant;
  /** `variants[i]`, for problems. */
  path: string;
  /** The document with this variant's server section merged in. */
  doc: Doc;
}

export function readVariants(doc: Doc): VariantEntry[] {
  const raw = doc.variants;
  if (!Array.isArray(raw)) return [];
  return raw.flatMap((item: unknown, index) => {
    if (typeof item !== "object" || item === null) return [];
    const { name, server } = item as { name?: unknown; server?: unknown };
    if (typeof name !== "string") return [];
    const merged = { ...doc, server: mergeServer(doc.server, server) };
    const variant = { name, server: readServerOptions(reader(merged)) };
    return [{ variant, path: `variants[${index}]`, doc: merged }];
  });
}

function mergeServer(base: unknown, over: unknown): Doc {
  const b = isMapping(base) ? base : {};
  const o = isMapping(over) ? over : {};
  const group = (key: string) => ({
    ...(isMapping(b[key]) ? b[key] : {}),
    ...(isMapping(o[key]) ? o[key] : {}),
  });
  const merged: Doc = { ...b, ...o, history: group("history"), h2: group("h2") };
  // A proxy is merged field by field only when one side has it: absent stays absent.
  if (isMapping(b.proxy) && isMapping(o.proxy)) merged.proxy = group("proxy");
  return merged;
}

/** Every server setting the scenario runs with: its variants', or the one section. */
export function scenarioServers(scenario: {
  server: ServerOptions;
  variants: Variant[];
}): ServerOptions[] {
  return scenario.variants.length > 0 ? scenario.variants.map((v) => v.server) : [scenario.server];
}
