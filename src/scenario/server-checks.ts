/**
 * The checks of a server section (or of each variant's merged one) that a
 * schema cannot make: durations above zero, a broker that can share what the
 * routing and fan-out need, the clients' traffic within the server's limits,
 * and what a proxy in front can pass.
 */
import { brokerInfo, brokersWhere, sharedBrokers } from "../shared/brokers.js";
import type { Problem } from "../shared/problem.js";
import type { ProtocolName } from "../shared/transports.js";
import { MEMBER_FANOUT_PROTOCOLS } from "./defaults.js";
import { type Doc, reader } from "./reader.js";
import type { VariantEntry } from "./server-section.js";
import type { ProxyOptions, ServerOptions } from "./types.js";
import { formatDuration } from "./units.js";

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

/** One section under check, with the words its problems share. */
interface Check {
  server: ServerOptions;
  ctx: ServerCheckContext;
  /** `server.field`, or `variants[1].server.field`. */
  at(field: string): string;
  /** One of the fields was rejected by the schema, here or in the top-level section. */
  bad(...fields: string[]): boolean;
  /** The field's value as written, quoted for "found". */
  found(field: string): string;
  /** A problem at `at(field)`. */
  problem(field: string, text: string): void;
  /** A problem at a path outside the section (a client setting the server cannot take). */
  problemAt(path: string, text: string): void;
}

/**
 * The checks, in the order their problems are listed (the user fixes a file
 * top to bottom: problems of one field keep this order).
 */
const SERVER_CHECKS: readonly ((check: Check) => void)[] = [
  positiveDurations,
  sharedBrokerForPubsub,
  payloadWithinBodyLimit,
  presenceTtlCoversHeartbeat,
  sharedMembersForTiered,
  natsWithJetstream,
  h2StreamsWithinLimit,
  proxyChecks,
  memberFanoutProtocols,
];

/** The checks of one server section that a schema cannot make. */
export function serverProblems(server: ServerOptions, ctx: ServerCheckContext): Problem[] {
  const problems: Problem[] = [];
  const at = (field: string) => `${ctx.where}.${field}`;
  const check: Check = {
    server,
    ctx,
    at,
    bad: (...fields) => fields.some((f) => ctx.isBad(at(f)) || ctx.isBad(`server.${f}`)),
    found: (field) => JSON.stringify(ctx.raw(`server.${field}`)),
    problem: (field, text) => problems.push({ path: at(field), text }),
    problemAt: (path, text) => problems.push({ path, text }),
  };
  for (const run of SERVER_CHECKS) run(check);
  return problems;
}

function positiveDurations({ server, bad, found, problem }: Check): void {
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
}

/** Pub/sub over several instances fans out through the broker: it must be one they share. */
function sharedBrokerForPubsub({ server, bad, problem }: Check): void {
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
}

function payloadWithinBodyLimit({ server, ctx, at, bad, problemAt }: Check): void {
  if (
    !ctx.isBad("publish.payloadBytes") &&
    !bad("maxBodyBytes") &&
    !ctx.hasTarget &&
    ctx.payloadBytes > server.maxBodyBytes
  ) {
    problemAt(
      "publish.payloadBytes",
      `expected at most ${at("maxBodyBytes")} (${server.maxBodyBytes}), found ${ctx.payloadBytes}`,
    );
  }
}

function presenceTtlCoversHeartbeat({ server, at, bad, found, problem }: Check): void {
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
}

/** Tiered fan-out over several instances keeps members and unread counters in the broker. */
function sharedMembersForTiered({ server, bad, problem }: Check): void {
  if (
    !bad("instances", "broker", "fanout") &&
    server.fanout === "tiered" &&
    server.instances > 1 &&
    !brokerInfo(server.broker).sharedMembers
  ) {
    problem(
      "fanout",
      `expected a broker that shares channel members between instances (${brokersWhere((b) => b.sharedMembers).join(", ")}) with fanout tiered and ${server.instances} instances (the ${server.broker} broker keeps members and unread counters per instance), found broker "${server.broker}"`,
    );
  }
}

function natsWithJetstream({ ctx, bad, problem }: Check): void {
  if (!bad("nats.jetstream") && ctx.raw("server.nats.jetstream") === false) {
    problem(
      "nats.jetstream",
      "expected true (the nats broker takes each channel's ids and history from a JetStream stream: the wire protocol's ids are gap-free and shared by every instance, and core NATS has no shared counter or store to take them from; its fan-out is core NATS either way), found false",
    );
  }
}

function h2StreamsWithinLimit({ server, ctx, at, bad, problemAt }: Check): void {
  if (
    !bad("h2.maxStreams") &&
    !ctx.isBad("sseH2.streamsPerConnection") &&
    !ctx.hasTarget &&
    ctx.h2StreamsPerConnection !== null &&
    ctx.h2StreamsPerConnection > server.h2.maxStreams
  ) {
    problemAt(
      "sseH2.streamsPerConnection",
      `expected at most ${at("h2.maxStreams")} (${server.h2.maxStreams}): the server refuses streams beyond it, found ${ctx.h2StreamsPerConnection}`,
    );
  }
}

/** The proxy settings a schema cannot check: what is not available, and what cannot pass it. */
function proxyChecks({ server, ctx, at, problem }: Check): void {
  const proxy = server.proxy;
  if (proxy === null || ctx.isBad(at("proxy")) || ctx.isBad("server.proxy")) return;
  // Not required by the schema: a variant's proxy may name only what it changes.
  if ((proxy.kind as ProxyOptions["kind"] | undefined) === undefined) {
    problem("proxy.kind", "expected nginx or haproxy, found nothing");
    return;
  }
  if (!ctx.isBad(at("proxy.idleTimeout")) && !(proxy.idleTimeoutMs > 0)) {
    problem(
      "proxy.idleTimeout",
      `expected a duration above 0, found ${JSON.stringify(ctx.raw("server.proxy.idleTimeout"))}`,
    );
  }
  if (
    !ctx.isBad(at("routing")) &&
    server.routing === "sticky" &&
    server.instances > 1 &&
    proxy.balance !== "hash-channel"
  ) {
    problem(
      "proxy.balance",
      `expected hash-channel with routing sticky and ${server.instances} instances (clients reach the instances through the proxy, and only its hash keeps a channel's subscribers and publisher on the instance that holds it), found "${proxy.balance}"`,
    );
  }
  if (ctx.protocols.includes("sse-h2") && !proxy.tls) {
    problem(
      "proxy.tls",
      `expected true with sse-h2 behind a proxy (its HTTP/2 is then negotiated by ALPN, as browsers reach it; without TLS it is cleartext with prior knowledge, which neither proxy takes on the port it serves HTTP/1.1 on), found false with protocols ${ctx.protocols.join(", ")}`,
    );
  }
}

/** Read and tiered fan-out speak in WebSocket frames: only the protocols that carry them. */
function memberFanoutProtocols({ server, ctx, bad, problem }: Check): void {
  const allowed: readonly string[] = MEMBER_FANOUT_PROTOCOLS;
  const others = ctx.protocols.filter((p) => !allowed.includes(p));
  if (!bad("fanout") && server.fanout !== "write" && others.length > 0) {
    problem(
      "fanout",
      `expected protocols to be ${allowed.join(", ")} only with fanout ${server.fanout} (its notify, fetch and unread frames are WebSocket frames), found protocols ${others.join(", ")}`,
    );
  }
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
