/**
 * How one reference-server process is launched and how it says it is ready:
 * the settings, the command line built from them and parsed back, and the
 * ready line. `rtbench run`, `rtbench serve` and the server's own entry point
 * (`reference-server/main.ts`) all go through here, so a setting cannot be
 * passed by one side and dropped by the other: every field has one row in
 * FLAGS, and the table's type requires a row for every field (how a row
 * becomes argv and back is flag-table.ts's).
 */
import { BROKER_KINDS, type BrokerKind } from "./brokers.js";
import {
  choiceFlag,
  type FlagTable,
  flagList,
  flagUsage,
  formatFlags,
  integerFlag,
  nullable,
  parseFlags,
  switchFlag,
  textFlag,
} from "./flag-table.js";

/** The command line of one reference-server instance, as values. */
export interface ServerLaunchSettings {
  /** 0: the OS picks a free port. */
  port: number;
  host: string;
  broker: BrokerKind;
  /** Where the broker's backing service listens (`redis://...`); null for a broker without one. */
  brokerUrl: string | null;
  heartbeatIntervalMs: number;
  /** Null: the server's default, 3 heartbeat intervals. */
  presenceTtlMs: number | null;
  history: HistorySettings;
  maxBodyBytes: number;
  /** Test-only: the server holds every live delivery this long. */
  deliveryDelayMs: number;
  instanceId: string;
  /** Mount the fault-injection endpoints (`POST /admin/drop`). */
  admin: boolean;
  /** Prepended to the broker's keys (Redis), so runs sharing one Redis share no state; null: the broker's own. */
  brokerPrefix: string | null;
  /**
   * pubsub: instances share the broker. sticky: each instance keeps its own
   * (with Redis: its own key prefix), as when a load balancer pins every
   * channel to one instance.
   */
  routing: ServerRouting;
  fanout: ServerFanout;
  /** Push join/leave events to WebSocket and SSE subscribers. */
  presenceEvents: boolean;
  /** Join/leave events per channel are batched over this interval (0: sent at once). */
  presenceBatchMs: number;
  /**
   * Message ids of every channel start above this: instances that share
   * nothing (sticky routing) number from different bases, so a cursor from
   * one instance is recognised as foreign by another.
   */
  idBase: number;
  /**
   * Browser origins let in (no other is), comma-separated; null:
   * none. (The token, `server.auth`, is not here: it travels in the
   * environment, AUTH_TOKEN_ENV, never on a command line every local user can read.)
   */
  allowOrigins: string | null;
  /**
   * PEM files of the certificate and its key: the instance serves HTTPS
   * (and HTTP/2 by ALPN); null: plain HTTP. Paths only: key material never
   * travels on a command line.
   */
  tlsCert: string | null;
  tlsKey: string | null;
  /** WebSockets accept permessage-deflate, compressing frames of at least this size; null: refused. */
  wsDeflateThreshold: number | null;
  limits: LimitSettings;
  h2: H2Settings;
}

/** HTTP/2 session limits (SSE over h2c); null leaves the server's default. */
export interface H2Settings {
  /** SETTINGS_MAX_CONCURRENT_STREAMS, advertised and enforced. */
  maxStreams: number | null;
  /** A session with no open stream this long is closed. */
  idleTimeoutMs: number | null;
}

/** The variable that hands a server process its token (`server.auth`); unset or empty: none. */
export const AUTH_TOKEN_ENV = "RTBENCH_SERVER_AUTH";

/** The header that carries a server's token on publish and admin requests; none without one. */
export function authHeaders(auth: string | null): Record<string, string> {
  return auth === null ? {} : { authorization: `Bearer ${auth}` };
}

/** The environment of a server process started with `auth` (null: the parent's own, minus any token). */
export function serverEnv(auth: string | null): NodeJS.ProcessEnv {
  const { [AUTH_TOKEN_ENV]: _inherited, ...env } = process.env;
  return auth === null ? env : { ...env, [AUTH_TOKEN_ENV]: auth };
}

/**
 * The resource limits of reference-server/limits.ts. Null leaves a limit at
 * the server's own default (maxConnections: derived from the process's
 * open-file limit, which only the server process knows).
 */
export interface LimitSettings {
  maxBodyDepth: number | null;
  maxPollBatch: number | null;
  maxPollBytes: number | null;
  writeTimeoutMs: number | null;
  requestTimeoutMs: number | null;
  maxConnections: number | null;
  /** How long a Redis command may take before the request fails with 503. */
  redisCommandTimeoutMs: number | null;
}

export const SERVER_ROUTINGS = ["pubsub", "sticky"] as const;
export type ServerRouting = (typeof SERVER_ROUTINGS)[number];
/** write: push; read: notify, subscribers fetch; tiered: push to online members, unread counters for offline ones. */
export const SERVER_FANOUTS = ["write", "read", "tiered"] as const;
export type ServerFanout = (typeof SERVER_FANOUTS)[number];

export interface HistorySettings {
  /** Messages kept per channel (0: none, every resume gets a gap). */
  maxCount: number;
  maxAgeMs: number;
}

/** What a parsed command line holds: flags left out are absent, and the server picks its defaults. */
export type ServerLaunchArgs = Partial<Omit<ServerLaunchSettings, "history" | "limits" | "h2">> & {
  history?: Partial<HistorySettings>;
  limits?: Partial<LimitSettings>;
  h2?: Partial<H2Settings>;
};

/**
 * The settings an instance runs with once its defaults are resolved: what
 * `GET /healthz` answers under `settings`, and what a result records under
 * `protocols.<p>.server.settings`.
 */
export interface EffectiveServerSettings {
  instanceId: string;
  broker: BrokerKind;
  heartbeatIntervalMs: number;
  presenceTtlMs: number;
  /** Null when the server was handed a broker it did not create (library use): the limits are that broker's. */
  history: HistorySettings | null;
  maxBodyBytes: number;
  deliveryDelayMs: number;
  /** The resource limits in force (absent in results of versions before they existed). */
  limits?: {
    maxBodyDepth: number;
    maxPollBatch: number;
    maxPollBytes: number;
    writeTimeoutMs: number;
    requestTimeoutMs: number;
    maxConnections: number;
  };
  routing: ServerRouting;
  fanout: ServerFanout;
  presenceEvents: boolean;
  presenceBatchMs: number;
  /** HTTP/2 session limits in force (absent in results of versions before they existed). */
  h2?: { maxStreams: number; idleTimeoutMs: number };
}

const FLAGS: FlagTable<ServerLaunchSettings> = {
  port: integerFlag("port", 0),
  host: textFlag("host", "HOST"),
  broker: choiceFlag("broker", BROKER_KINDS),
  brokerUrl: nullable(textFlag("broker-url", "URL")),
  heartbeatIntervalMs: integerFlag("heartbeat-interval-ms", 1),
  presenceTtlMs: nullable(integerFlag("presence-ttl-ms", 1)),
  history: {
    maxCount: integerFlag("history-max-count", 0),
    maxAgeMs: integerFlag("history-max-age-ms", 1),
  },
  maxBodyBytes: integerFlag("max-body-bytes", 1),
  deliveryDelayMs: integerFlag("delivery-delay-ms", 0),
  instanceId: textFlag("instance-id", "ID"),
  admin: switchFlag("admin"),
  brokerPrefix: nullable(textFlag("broker-prefix", "PREFIX")),
  routing: choiceFlag("routing", SERVER_ROUTINGS),
  fanout: choiceFlag("fanout", SERVER_FANOUTS),
  presenceEvents: switchFlag("presence-events"),
  presenceBatchMs: integerFlag("presence-batch-ms", 0),
  idBase: integerFlag("id-base", 0),
  allowOrigins: nullable(textFlag("allow-origin", "ORIGIN[,ORIGIN...]")),
  tlsCert: nullable(textFlag("tls-cert", "FILE")),
  tlsKey: nullable(textFlag("tls-key", "FILE")),
  wsDeflateThreshold: nullable(integerFlag("ws-deflate-threshold", 0)),
  limits: {
    maxBodyDepth: nullable(integerFlag("max-body-depth", 1)),
    maxPollBatch: nullable(integerFlag("max-poll-batch", 1)),
    maxPollBytes: nullable(integerFlag("max-poll-bytes", 1)),
    writeTimeoutMs: nullable(integerFlag("write-timeout-ms", 1)),
    requestTimeoutMs: nullable(integerFlag("request-timeout-ms", 1)),
    maxConnections: nullable(integerFlag("max-connections", 1)),
    redisCommandTimeoutMs: nullable(integerFlag("redis-command-timeout-ms", 1)),
  },
  h2: {
    maxStreams: nullable(integerFlag("h2-max-streams", 1)),
    idleTimeoutMs: nullable(integerFlag("h2-idle-timeout-ms", 1)),
  },
};

/** The table's leaves with their paths, in table order. */
const FLAG_LIST = flagList(FLAGS);

/** The argv (after the entry script) that starts an instance with `settings`. */
export function buildServerArgs(settings: ServerLaunchSettings): string[] {
  return formatFlags(FLAG_LIST, settings);
}

/** Reads an instance's argv back; unknown flags and bad values are BAD_INPUT errors. */
export function parseServerArgs(argv: string[]): ServerLaunchArgs {
  return parseFlags(FLAG_LIST, argv) as ServerLaunchArgs;
}

/** `[--port N] [--host HOST] ...`, for the entry point's usage message. */
export function serverUsage(): string {
  return flagUsage(FLAG_LIST);
}

/** Matches the line an instance prints on stdout once it accepts connections; group 1 is its URL. */
export const SERVER_READY_PATTERN = /^rtbench-server listening (\S+)$/;

/** The ready line (without newline) an instance prints once it listens on `url`. */
export function formatReadyLine(url: string): string {
  return `rtbench-server listening ${url}`;
}

/** The URL in a ready line, or null when `line` is not one. */
export function parseReadyLine(line: string): string | null {
  return SERVER_READY_PATTERN.exec(line)?.[1] ?? null;
}
