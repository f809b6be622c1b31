/**
 * The `server` section and the scenario's `variants:` (each a server section
 * applied over the top-level one): reading them with their defaults, and the
 * checks between their fields and the rest of the scenario.
 */
import { BROKERS, type BrokerKind, brokerInfo, sharedBrokers } from "../shared/brokers.js";
import type { Problem } from "../shared/problem.js";
import type { ProtocolName } from "../shared/transports.js";
import { MEMBER_FANOUT_PROTOCOLS, PRESENCE_TTL_HEARTBEATS } from "./defaults.js";
import { type Reader, reader } from "./reader.js";
import { serverTlsOf } from "./tls-section.js";
import type { FanoutStrategy, Routing, ServerOptions, Variant } from "./types.js";
import { formatDuration } from "./units.js";

type Doc = Record<string, unknown>;

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
  const b = isDoc(base) ? base : {};
  const o = isDoc(over) ? over : {};
  const group = (key: string) => ({
    ...(isDoc(b[key]) ? b[key] : {}),
    ...(isDoc(o[key]) ? o[key] : {}),
  });
  return { ...b, ...o, history: group("history"), h2: group("h2") };
}

function isDoc(value: unknown): value is Doc {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export interface ServerCheckContext {
  /** `server`, or `variants[1].server` for a variant's merged settings. */
  where: string;
  /** Reads the value a problem quotes (the merged document). */
  raw(path: string): unknown;
  isBad(path: string): boolean;
  protocols: readonly ProtocolName[];
  payloadBytes: number;
  /** A target is measured: the server settings do not apply. */
  hasTarget: boolean;
  /** `sseH2.streamsPerConnection` when sse-h2 runs, else null. */
  h2StreamsPerConnection: number | null;
}

/** The checks of one server section that a schema cannot make. */
export function serverProblems(server: ServerOptions, ctx: ServerCheckContext): Problem[] {
  const problems: Problem[] = [];
  const at = (field: string) => `${ctx.where}.${field}`;
  const bad = (...fields: string[]) =>
    fields.some((f) => ctx.isBad(at(f)) || ctx.isBad(`server.${f}`));
  const problem = (field: string, text: string) => problems.push({ path: at(field), text });
  const found = (field: string) => JSON.stringify(ctx.raw(`server.${field}`));

  const positive: [string, number][] = [
    ["heartbeatInterval", server.heartbeatIntervalMs],
    ["presenceTtl", server.presenceTtlMs],
    ["history.maxAge", server.history.maxAgeMs],
    ["writeTimeout", server.writeTimeoutMs],
    ["requestTimeout", server.requestTimeoutMs],
    ["redisCommandTimeout", server.redisCommandTimeoutMs],
    ["h2.idleTimeout", server.h2.idleTimeoutMs],
  ];
  for (const [field, valueMs] of positive) {
    if (!bad(field) && !(valueMs > 0)) {
      problem(field, `expected a duration above 0, found ${found(field)}`);
    }
  }
  if (
    !bad("instances", "broker", "routing") &&
    server.routing === "pubsub" &&
    server.instances > 1 &&
    !brokerInfo(server.broker).shared
  ) {
    problem(
      "broker",
      `expected a broker shared between instances (${sharedBrokers().join(", ")}) when server.instances is ${server.instances} (a ${server.broker} broker cannot share messages between processes; or routing: sticky, where instances share nothing), found "${server.broker}"`,
    );
  }
  if (
    !ctx.isBad("publish.payloadBytes") &&
    !bad("maxBodyBytes") &&
    !ctx.hasTarget &&
    ctx.payloadBytes > server.maxBodyBytes
  ) {
    problems.push({
      path: "publish.payloadBytes",
      text: `expected at most ${at("maxBodyBytes")} (${server.maxBodyBytes}), found ${ctx.payloadBytes}`,
    });
  }
  if (
    !bad("presenceTtl", "heartbeatInterval") &&
    server.presenceTtlMs > 0 &&
    server.presenceTtlMs < server.heartbeatIntervalMs
  ) {
    problem(
      "presenceTtl",
      `expected at least ${at("heartbeatInterval")} (${formatDuration(server.heartbeatIntervalMs)}), or users would flicker out between heartbeats, found ${found("presenceTtl")}`,
    );
  }
  if (
    !bad("instances", "broker", "fanout") &&
    server.fanout === "tiered" &&
    server.instances > 1 &&
    !brokerInfo(server.broker).sharedMembers
  ) {
    problem(
      "fanout",
      `expected a broker that shares channel members between instances (${BROKERS.filter(
        (b) => b.sharedMembers,
      )
        .map((b) => b.kind)
        .join(
          ", ",
        )}) with fanout tiered and ${server.instances} instances (the ${server.broker} broker keeps members and unread counters per instance), found broker "${server.broker}"`,
    );
  }
  if (!bad("nats.jetstream") && ctx.raw("server.nats.jetstream") === false) {
    problem(
      "nats.jetstream",
      "expected true (the nats broker takes each channel's ids and history from a JetStream stream: the wire protocol's ids are gap-free and shared by every instance, and core NATS has no shared counter or store to take them from; its fan-out is core NATS either way), found false",
    );
  }
  if (
    !bad("h2.maxStreams") &&
    !ctx.isBad("sseH2.streamsPerConnection") &&
    !ctx.hasTarget &&
    ctx.h2StreamsPerConnection !== null &&
    ctx.h2StreamsPerConnection > server.h2.maxStreams
  ) {
    problems.push({
      path: "sseH2.streamsPerConnection",
      text: `expected at most ${at("h2.maxStreams")} (${server.h2.maxStreams}): the server refuses streams beyond it, found ${ctx.h2StreamsPerConnection}`,
    });
  }
  const allowed: readonly string[] = MEMBER_FANOUT_PROTOCOLS;
  const others = ctx.protocols.filter((p) => !allowed.includes(p));
  if (!bad("fanout") && server.fanout !== "write" && others.length > 0) {
    problem(
      "fanout",
      `expected protocols to be ${allowed.join(", ")} only with fanout ${server.fanout} (its notify, fetch and unread frames are WebSocket frames), found protocols ${others.join(", ")}`,
    );
  }
  return problems;
}

/**
 * The server checks for the scenario: the top-level section when there are
 * no variants, else each variant's merged settings (only those run), plus
 * unique variant names.
 */
export function serverSectionProblems(
  doc: Doc,
  scenario: {
    server: ServerOptions;
    target: unknown;
    protocols: ProtocolName[];
    publish: { payloadBytes: number };
    transports: Partial<Record<ProtocolName, { settings: Readonly<Record<string, unknown>> }>>;
  },
  variants: VariantEntry[],
  isBad: (path: string) => boolean,
): Problem[] {
  const base = {
    raw: reader(doc).raw,
    isBad,
    protocols: scenario.protocols,
    payloadBytes: scenario.publish.payloadBytes,
    hasTarget: scenario.target !== null,
    h2StreamsPerConnection: scenario.protocols.includes("sse-h2")
      ? Number(scenario.transports["sse-h2"]?.settings.streamsPerConnection)
      : null,
  };
  if (variants.length === 0) return serverProblems(scenario.server, { ...base, where: "server" });
  const problems: Problem[] = [];
  const seen = new Map<string, string>();
  for (const { variant, path, doc: merged } of variants) {
    const first = seen.get(variant.name);
    if (first !== undefined) {
      problems.push({
        path: `${path}.name`,
        text: `expected each variant name once, found ${JSON.stringify(variant.name)} again (also at ${first}.name)`,
      });
    }
    seen.set(variant.name, path);
    const raw = reader(merged).raw;
    problems.push(...serverProblems(variant.server, { ...base, raw, where: `${path}.server` }));
  }
  return problems;
}

/** Every server setting the scenario runs with: its variants', or the one section. */
export function scenarioServers(scenario: {
  server: ServerOptions;
  variants: Variant[];
}): ServerOptions[] {
  return scenario.variants.length > 0 ? scenario.variants.map((v) => v.server) : [scenario.server];
}
