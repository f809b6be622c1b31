/**
 * The normalised scenario's vocabulary: `Scenario` and the shape of each of
 * its sections (server and variants, target, clients, publish, reconnect,
 * faults, generator and saturation limits) with each field's unit and
 * meaning written once. It is longer than most because it is one vocabulary
 * with no behaviour: the section readers (src/scenario/) write these types
 * and the run (src/load/, src/proxy/, src/gate/) reads them, and a reader
 * looking up a field finds its neighbours and units on the same page.
 */
import type { NetworkShare, SlowPlan } from "../clients/network-profile.js";
import type { ClientTlsSettings } from "../clients/tls.js";
import type { Workload } from "../metrics/types.js";
import type { BrokerKind } from "../shared/brokers.js";
import type { ProtocolName, TransportSettings } from "../shared/transports.js";
import type { TargetWire } from "../targets/types.js";
import type { MetricSelector } from "./comparison.js";
import type { PublishPayload } from "./defaults.js";
import type { TargetPlace } from "./target-place.js";

/**
 * A scenario after loading, validation and defaults: every field present,
 * durations in milliseconds, rates per second. The file format (YAML/JSON,
 * units like `500ms`, `10/s`) is described by schema/scenario.schema.json.
 */
export interface Scenario {
  name: string;
  description: string;
  /**
   * Where it was loaded from, the SHA-256 of the file's bytes, its text
   * (carried into the result so a report documents the run) and the workload
   * it defines (what a baseline must share; absent for a hand-made Scenario).
   */
  source: { file: string | null; sha256: string | null; text?: string | null; workload?: Workload };
  protocols: ProtocolName[];
  /** Seeds channel assignment so that runs are reproducible. */
  seed: number;

  server: ServerOptions;
  /**
   * Server settings to run side by side, each with every protocol (result
   * keys `websocket@sticky`); empty when the scenario lists none and the
   * `server` section runs alone.
   */
  variants: Variant[];
  /** Set when the scenario measures an already running server instead of starting one. */
  target: TargetOptions | null;
  clients: ClientsOptions;
  publish: PublishOptions;

  durationMs: number;
  warmupMs: number;
  drainMs: number;

  /**
   * Each registered transport's section (`shortPoll`, `sse`, ...), by
   * transport name: its settings as its descriptor names them, passed to its
   * client untouched, and its reconnect policy.
   */
  transports: Record<ProtocolName, TransportOptions>;

  /**
   * The scenario-wide reconnect policy. Each transport's `reconnect` is this
   * policy with its section's overrides applied (what the runner uses).
   */
  reconnect: ReconnectPolicy;
  /** Faults injected during the run, in `atMs` order. */
  faults: Fault[];

  generator: GeneratorOptions;
  /** How far one-way latency measured on workers may be off (`rtbench run --workers N`). */
  workers: WorkersOptions;
  /** When a run says the server saturated (load/result/saturation.ts). */
  saturation: SaturationOptions;
  /** Presence accuracy sampling (`presence.sampleInterval`); 0 turns it off. */
  presence: { sampleIntervalMs: number };
  /** Metric path (or `*.metric`) -> condition, e.g. `"websocket.latency.p99": "< 50ms"`. */
  thresholds: Record<string, string>;
  /** Relative tolerances (fractions) for baseline comparisons, by kind, metric or full name. */
  tolerances: Record<string, number>;
  /** Metrics judged against a baseline besides the headline ones (`compare:`). */
  compare: MetricSelector[];
}

export interface TransportOptions {
  settings: TransportSettings;
  reconnect: ReconnectPolicy;
}

export interface ServerOptions {
  instances: number;
  broker: BrokerKind;
  history: { maxCount: number; maxAgeMs: number };
  heartbeatIntervalMs: number;
  presenceTtlMs: number;
  maxBodyBytes: number;
  /**
   * Test-only: the server holds every delivery this long before sending it,
   * so tests can check that measured latency moves by a known amount.
   */
  deliveryDelayMs: number;

  // Resource limits of the reference server (reference-server/limits.ts).
  maxBodyDepth: number;
  maxPollBatch: number;
  maxPollBytes: number;
  writeTimeoutMs: number;
  requestTimeoutMs: number;
  /** Null: each instance derives it from its open-file limit. */
  maxConnections: number | null;
  redisCommandTimeoutMs: number;
  /**
   * pubsub: clients spread over instances, messages fan out through the
   * shared broker. sticky: every client and publisher of a channel goes to
   * one instance (a hash ring of the channel id); instances share nothing.
   */
  routing: Routing;
  /** How a message reaches a channel's members. */
  fanout: FanoutStrategy;
  /** Push join/leave events to the channel's WebSocket and SSE subscribers. */
  presenceEvents: boolean;
  /** Join/leave events are sent in one batch per channel per this interval (0: one by one). */
  presenceBatchMs: number;
  /** HTTP/2 session limits (SSE over h2c). */
  h2: { maxStreams: number; idleTimeoutMs: number };
  /** The token for publish, members and admin routes (Authorization: Bearer); null: none. */
  auth: string | null;
  /** Browser origins let in; any other Origin header gets 403. */
  allowOrigins: string[];
  /** HTTPS (and HTTP/2 by ALPN): a throwaway CA made at start, or the user's files; null: plain HTTP. */
  tls: ServerTls;
  /** A reverse proxy rtbench starts in front of the instances; null: clients connect directly. */
  proxy: ProxyOptions | null;
}

export type ProxyKind = "nginx" | "haproxy";
export type ProxyBalance = "round-robin" | "least-conn" | "hash-channel";

export interface ProxyOptions {
  kind: ProxyKind;
  balance: ProxyBalance;
  /** Buffer streamed responses (nginx only; the server's X-Accel-Buffering is ignored). */
  buffering: boolean;
  /** How long the proxy keeps a connection on which nothing moves. */
  idleTimeoutMs: number;
  /** Refuse WebSocket upgrades with 403 (a restrictive corporate proxy). */
  blockUpgrade: boolean;
  /**
   * TLS termination at the proxy (a throwaway CA's certificate, or server.tls's
   * files); the instances behind it stay plaintext unless server.tls, which
   * makes the proxy re-encrypt.
   */
  tls: boolean;
}

/** `server.tls`: `"throwaway"` for `true`; files as absolute paths once validated. */
export type ServerTls =
  | "throwaway"
  | { certFile: string; keyFile: string; caFile: string | null }
  | null;

export type Routing = "pubsub" | "sticky";

/**
 * write: push every message to online subscribers. read: the server only
 * stores and tells subscribers something is new; they fetch what they have
 * not read. tiered: push to online members, count unread messages per
 * offline member; a member coming back gets its count, then the messages.
 */
export type FanoutStrategy = "write" | "read" | "tiered";

/** One column group of a scenario with `variants:`: a name and its complete server settings. */
export interface Variant {
  name: string;
  server: ServerOptions;
}

export interface TargetOptions {
  /**
   * Base URLs (`http://host:port`); clients spread over them round-robin.
   * With `command`: one per instance, or empty when rtbench picks free
   * ports as it starts them.
   */
  urls: string[];
  /** The target protocol it speaks (src/targets/registry.ts). */
  protocol: string;
  /** How rtbench starts the server itself; null when it measures a running one. */
  command: TargetCommand | null;
  /**
   * How often the server sends heartbeats on open connections, for the
   * client watchdog; null when not known (the watchdog is then off).
   */
  heartbeatIntervalMs: number | null;
  /** The protocol's wire: its defaults with the scenario's fields over them. */
  wire: TargetWire;
  /** `target.tls` with its CA file read; null: the defaults (system trust, SNI from the URL). */
  tls: ClientTlsSettings | null;
}

/** A server rtbench starts: `instances` runs of one command line. */
export interface TargetCommand {
  /** Run by /bin/sh; placeholders `{port}`, `{instance}`, `{dir}`, `{scenarioDir}`, ... */
  line: string;
  instances: number;
  /** `http://127.0.0.1`: scheme and host the instances listen on. */
  origin: string;
  /** Instance i listens on basePort + i; null: a free port each, picked at start. */
  basePort: number | null;
  /** Polled until 2xx; null: a TCP connect is enough. */
  health: string | null;
  startTimeoutMs: number;
  /** Template files written into each instance's `{dir}` (absolute paths). */
  files: string[];
  /** `{scenarioDir}`: the scenario file's directory (the current one for text in memory). */
  scenarioDir: string;
  /** The command or its files use `{redisUrl}`: rtbench provides a Redis, as for broker: redis. */
  needsRedis: boolean;
}

export interface ClientsOptions {
  /** Subscribers per protocol run. */
  count: number;
  rampUpMs: number;
  /** Channels the subscribers are spread over (seeded). */
  channels: number;
  channelPrefix: string;
  /** Child processes running the subscribers; 0 means choose from the client count. */
  shards: number;
  /** How popular each channel is (subscribers per channel). */
  channelSkew: ChannelSkew;
  /**
   * Channel members, online or not: the clients plus `members - count` that
   * never connect (0: only the clients). Tiered fan-out keeps their unread counters.
   */
  members: number;
  /**
   * The share of clients (0 to 1) that may never connect before a
   * protocol's run is invalid: beyond it the numbers describe a smaller
   * run than the scenario asked for (a full server refused the rest).
   */
  maxNeverConnectedShare: number;
  /** Clients going offline and coming back during the run; null: none. */
  churn: ChurnOptions | null;
  /** The networks clients sit behind (`clients.network`), as a mix; null: loopback, unshaped. */
  network: NetworkShare[] | null;
  /** Slow consumers among the clients (`clients.slow`); null: none. */
  slow: SlowPlan | null;
  /** Transports each client tries in turn (`clients.fallback`); null: none. */
  fallback: FallbackOptions | null;
}

/** `clients.fallback` and `clients.fallbackTimeout`, normalised. */
export interface FallbackOptions {
  /** The transports in the order a client tries them; the run is keyed by the first. */
  order: ProtocolName[];
  /** A step not ready this long after it started fails, and the next one starts. */
  stepTimeoutMs: number;
}

export type ChannelSkew =
  | { kind: "even" }
  /** Channel i (from 1) weighs 1 / i^exponent. */
  | { kind: "zipf"; exponent: number }
  | { kind: "weights"; weights: number[] };

export interface ChurnOptions {
  /** Every this often, `fraction` of the online clients leave... */
  everyMs: number;
  /** ...and come back this much later, resuming from their cursor. */
  offlineForMs: number;
  fraction: number;
}

export interface PublishOptions {
  /** Messages per second over the whole scenario, spread round-robin over channels. */
  ratePerSec: number;
  payloadBytes: number;
  /** text (compressible) or random (incompressible) padding up to payloadBytes. */
  payload: PublishPayload;
  via: "http" | "websocket";
  /** Deprecated and ignored: publishes open connections as needed, up to `maxInFlight`. */
  publishers: number;
  /** Publishes waiting for an answer at once, at most; beyond it sends wait (and count as late). */
  maxInFlight: number;
  /** An acknowledgement later than this after the send is late: the server is behind. */
  ackTimeoutMs: number;
}

/** Limits on rtbench's own processes, above which its numbers are marked unreliable. */
export interface GeneratorOptions {
  /** Event-loop delay p99 of any generator process. */
  maxEventLoopDelayMs: number;
  /** CPU of any generator process over the window, as a share of one core (0.9 = 90 %). */
  maxCpuShare: number;
  /** Event-loop utilisation of any generator process over the window (0 to 1). */
  maxEventLoopUtilization: number;
}

/** Settings of runs whose clients run on workers (`rtbench run --workers N`). */
export interface WorkersOptions {
  /**
   * A worker whose clock offset bound (half the best round trip of its clock
   * exchanges) is wider than this makes one-way latency UNRELIABLE.
   */
  maxClockBoundMs: number;
}

/** When the server, not rtbench, is the limit: a finding about the server. */
export interface SaturationOptions {
  /** CPU of a server process over the window, as a share of one core, from which it is saturated. */
  serverCpuShare: number;
  /** Latency rising by more than this from the first to the last third of the window ... */
  latencyRiseMs: number;
  /** ... and to more than this many times the first third's. */
  latencyRiseFactor: number;
}

/** How a client reconnects after its connection broke (exponential backoff). */
export interface ReconnectPolicy {
  initialDelayMs: number;
  maxDelayMs: number;
  multiplier: number;
  /** none: exact delays; full: uniform in [0, delay]; equal: delay/2 + uniform in [0, delay/2]. */
  jitter: "none" | "full" | "equal";
  /** Attempts after a break before the client gives up (it then counts as never reconnected). */
  maxRetries: number;
  /** Reconnect with the last cursor (Last-Event-ID / since) or start from now. */
  resume: boolean;
  /**
   * Client-side watchdog: a WebSocket or SSE connection with no traffic
   * (messages, pings, comments) for this many server heartbeat intervals is
   * treated as dead. 0 turns the watchdog off.
   */
  watchdogIntervals: number;
  /**
   * Do as the server says: SSE's `retry:` is the first delay (as a browser
   * does), and a full server's wait (503/429 with Retry-After, WebSocket
   * close 1013) replaces the backoff (load/fleet/backoff.ts, admissionDelayMs).
   */
  honorServerRetry: boolean;
}

export type { BrokerFaultAction } from "../shared/brokers.js";

export type Fault =
  | { action: "kill"; atMs: number; instance: InstanceRef; restartAfterMs: number | null }
  | { action: "restart"; atMs: number; instance: InstanceRef }
  | { action: "drop"; atMs: number; fraction: number; instance: InstanceRef | "all" }
  | { action: "stall"; atMs: number; instance: InstanceRef; forMs: number }
  | { action: "redis-restart"; atMs: number; forMs: number }
  /**
   * The broker's backing service (Redis, NATS) that rtbench started:
   * broker-freeze SIGSTOPs it for `forMs` (then SIGCONT); broker-stop
   * SIGKILLs it and starts it again after `forMs` on the same port (and, for
   * NATS, the same JetStream store); broker-restart stops it gracefully and
   * starts it again at once.
   */
  | { action: "broker-freeze" | "broker-stop"; atMs: number; forMs: number }
  | { action: "broker-restart"; atMs: number }
  /**
   * SIGSTOP rtbench's own client processes for `forMs`: their connections
   * stay open but answer nothing (zombie clients), which only the server's
   * heartbeats can detect.
   */
  | { action: "stall-clients"; atMs: number; forMs: number }
  /**
   * From `at` to the end of the measured window, `fraction` of the clients
   * each lose their network for `offlineForMs` every `everyMs`, on a
   * staggered schedule of their own (each start moved by up to ± `jitterMs`),
   * as mobile clients do. The connection stalls (clients/shaped-socket.ts),
   * then breaks when a heartbeat says so.
   */
  | {
      action: "flap";
      atMs: number;
      everyMs: number;
      offlineForMs: number;
      fraction: number;
      jitterMs: number;
    };

/** A server instance by index (0-based), or one picked at random (seeded) when the fault fires. */
export type InstanceRef = number | "random";

/** What the command line changes in a scenario after it is read. */
export interface ScenarioOverrides {
  /** Replaces `protocols` (e.g. from `--protocols`). */
  protocols?: ProtocolName[];
  /** Replaces `duration` (e.g. from `--duration`). */
  durationMs?: number;
  /** Puts the target at a URL or command (`rtbench ab`); the `server` section is dropped. */
  target?: TargetPlace;
}
