import { once } from "node:events";
import type { AddressInfo } from "node:net";
import type { ServerFanout, ServerRouting } from "../src/shared/server-launch.js";
import { transport, transportNames } from "../src/shared/transports.js";
import { Admission } from "./admission.js";
import { createMemoryBroker } from "./broker/memory.js";
import {
  type Broker,
  DEFAULT_HISTORY,
  DEFAULT_MEMBER_LIMITS,
  type HistoryLimits,
  type MemberLimits,
} from "./broker/types.js";
import type { LiveConnection, ServerContext, ServerSettings } from "./context.js";
import {
  DEFAULT_H2_IDLE_TIMEOUT_MS,
  DEFAULT_H2_MAX_STREAMS,
  type H2Limits,
} from "./h2-sessions.js";
import { startHeartbeats } from "./heartbeats.js";
import { Hub } from "./hub.js";
import { resolveLimits, type ServerLimits } from "./limits.js";
import { ServerMetrics } from "./metrics.js";
import { PresenceEvents } from "./presence-events.js";
import { createReferenceHttpServer } from "./server.js";
import type { ServerTlsOptions } from "./tls.js";
import { serverTransportFactory } from "./transports/registry.js";
import type { ServerTransportFactory } from "./transports/types.js";

export { createMemoryBroker } from "./broker/memory.js";
export type { Broker, HistoryLimits } from "./broker/types.js";
export type { H2Limits } from "./h2-sessions.js";

/** Resource limits (see ServerLimits); each has a default. */
export type ServerLimitOptions = Partial<ServerLimits>;

export interface ReferenceServerOptions extends ServerLimitOptions {
  /** Default 0 (the OS picks a free port). */
  port?: number;
  /** Default "127.0.0.1". */
  host?: string;
  /** Default: a memory broker with `history` limits; a given broker is not closed by close(). */
  broker?: Broker;
  /** The limits of the default broker; with a given broker, what /healthz reports for it. */
  history?: HistoryLimits;
  heartbeatIntervalMs?: number;
  /** Default 3 heartbeat intervals. */
  presenceTtlMs?: number;
  maxBodyBytes?: number;
  /** Test-only: hold every live delivery this long. */
  deliveryDelayMs?: number;
  instanceId?: string;
  /** `retry:` sent to SSE clients on connect. */
  sseRetryMs?: number;
  /** Mount the fault-injection endpoints (`POST /admin/drop`). Default false: 404. */
  admin?: boolean;
  /** Reported by /healthz; a sticky instance's broker is its own (the caller makes it so). Default pubsub. */
  routing?: ServerRouting;
  /** Default write. The broker must count unread messages for tiered (its `unreadCounters` option). */
  fanout?: ServerFanout;
  /** Push join/leave events to WebSocket and SSE subscribers. Default false. */
  presenceEvents?: boolean;
  /** Batch join/leave events per channel over this interval. Default 1000; 0 sends each at once. */
  presenceBatchMs?: number;
  /** The default broker numbers every channel's messages above this (see BrokerOptions). */
  idBase?: number;
  /** HTTP/2 session limits; default 100 streams, 30 s idle. */
  h2?: Partial<H2Limits>;
  /**
   * A token for the routes that change state (publish, members, admin):
   * `Authorization: Bearer <token>`. Default none: anyone who can connect may.
   */
  auth?: string | null;
  /** Browser origins let in; requests from any other get 403 (reference-server/access.ts). Default none. */
  allowOrigins?: readonly string[];
  /** Caps and expiry of channel members (tiered fan-out); each part has a default. */
  memberLimits?: Partial<MemberLimits>;
  /** Accept permessage-deflate, compressing frames of at least this many bytes. Default null: refused. */
  wsDeflateThreshold?: number | null;
  /**
   * Serve HTTPS (and HTTP/2 by ALPN) with this certificate and key (PEM).
   * Default none: plain HTTP, and HTTP/2 as h2c with prior knowledge.
   */
  tls?: ServerTlsOptions;
}

export interface RunningServer {
  url: string;
  port: number;
  /** Graceful: stop accepting, close WebSockets (1001), end SSE, answer held polls; at most ~5 s. */
  close(): Promise<void>;
}

const DEFAULT_HEARTBEAT_INTERVAL_MS = 30_000;
const DEFAULT_MAX_BODY_BYTES = 65_536;
/** After this, connections still open at shutdown are destroyed. */
const SHUTDOWN_GRACE_MS = 4000;

export async function startReferenceServer(
  options: ReferenceServerOptions = {},
): Promise<RunningServer> {
  const ownsBroker = options.broker === undefined;
  const settings = resolveSettings(options);
  const broker =
    options.broker ??
    createMemoryBroker(settings.history ?? DEFAULT_HISTORY, {
      unreadCounters: settings.fanout === "tiered",
      idBase: options.idBase ?? 0,
    });
  const { factories, connections } = mountTransports();
  const ctx = serverContext(broker, settings, connections);

  const { server, h2Sessions, transports } = createReferenceHttpServer(ctx, factories, options.tls);
  // Every accepted socket counts, HTTP/1.1 and HTTP/2 alike.
  ctx.admission.track(server);
  // A deep accept queue (the kernel caps it at net.core.somaxconn): Node's
  // default of 511 overflows while a busy instance takes thousands of
  // connections a second, and every dropped handshake costs its client a
  // SYN retransmission, 1 s, then 3 s, then 7 s.
  server.listen({ port: options.port ?? 0, host: options.host ?? "127.0.0.1", backlog: 65535 });
  try {
    await once(server, "listening");
  } catch (error) {
    if (ownsBroker) await broker.close();
    throw error;
  }
  const withHeartbeats = [...connections]
    .filter(([name]) => transport(name).serverHeartbeats)
    .map(([, open]) => open);
  const heartbeats = startHeartbeats(() => withHeartbeats, settings.heartbeatIntervalMs);

  const { port } = server.address() as AddressInfo;
  const host = options.host ?? "127.0.0.1";
  let closing: Promise<void> | null = null;

  const close = async (): Promise<void> => {
    heartbeats.stop();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const mounted of transports) mounted.close?.();
    ctx.presenceEvents?.close();
    for (const open of connections.values()) {
      for (const connection of [...open]) connection.shutdown();
    }
    server.closeIdleConnections();
    // GOAWAY: each HTTP/2 session ends once its streams (just ended above) are done.
    for (const session of h2Sessions) session.close();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, SHUTDOWN_GRACE_MS);
    });
    await Promise.race([closed, late]);
    clearTimeout(timer);
    server.closeAllConnections();
    for (const session of h2Sessions) session.destroy();
    if (ownsBroker) await broker.close();
  };

  return {
    url: `${options.tls ? "https" : "http"}://${host.includes(":") ? `[${host}]` : host}:${port}`,
    port,
    close() {
      closing ??= close();
      return closing;
    },
  };
}

/** The instance's settings: every option with its default. */
function resolveSettings(options: ReferenceServerOptions): ServerSettings {
  const heartbeatIntervalMs = options.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
  return {
    instanceId: options.instanceId ?? `ref-${process.pid}`,
    heartbeatIntervalMs,
    presenceTtlMs: options.presenceTtlMs ?? 3 * heartbeatIntervalMs,
    // A broker passed in keeps its own history; the instance's own memory broker gets one.
    history: options.history ?? (options.broker === undefined ? DEFAULT_HISTORY : null),
    maxBodyBytes: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    deliveryDelayMs: options.deliveryDelayMs ?? 0,
    sseRetryMs: options.sseRetryMs ?? 2000,
    maxBufferedBytes: 8 * 1024 * 1024,
    admin: options.admin ?? false,
    ...resolveLimits(options),
    routing: options.routing ?? "pubsub",
    fanout: options.fanout ?? "write",
    presenceEvents: options.presenceEvents ?? false,
    presenceBatchMs: options.presenceBatchMs ?? 1000,
    h2: {
      maxStreams: options.h2?.maxStreams ?? DEFAULT_H2_MAX_STREAMS,
      idleTimeoutMs: options.h2?.idleTimeoutMs ?? DEFAULT_H2_IDLE_TIMEOUT_MS,
    },
    members: { ...DEFAULT_MEMBER_LIMITS, ...options.memberLimits },
    auth: options.auth || null,
    allowOrigins: options.allowOrigins ?? [],
    wsDeflateThreshold: options.wsDeflateThreshold ?? null,
  };
}

/** Every transport with a server half is mounted, and gets its set of open connections. */
function mountTransports(): {
  factories: Map<string, ServerTransportFactory>;
  connections: Map<string, Set<LiveConnection>>;
} {
  const factories = new Map<string, ServerTransportFactory>();
  const connections = new Map<string, Set<LiveConnection>>();
  for (const name of transportNames()) {
    const factory = serverTransportFactory(name);
    if (factory === undefined) continue;
    factories.set(name, factory);
    connections.set(name, new Set());
  }
  return { factories, connections };
}

/** What every transport handler shares: the broker, the hub, the settings, the books. */
function serverContext(
  broker: Broker,
  settings: ServerSettings,
  connections: Map<string, Set<LiveConnection>>,
): ServerContext {
  let presenceFailing = false;
  return {
    broker,
    hub: new Hub(broker, {
      deliveryDelayMs: settings.deliveryDelayMs,
      fanout: settings.fanout,
      presenceEvents: settings.presenceEvents,
    }),
    presenceEvents: settings.presenceEvents
      ? new PresenceEvents(broker, settings.presenceBatchMs)
      : null,
    metrics: new ServerMetrics([...connections.keys()]),
    settings,
    admission: new Admission(settings.maxConnections),
    connections,
    connectionsOf(name) {
      const set = connections.get(name);
      if (set === undefined) throw new Error(`transport ${name} is not mounted`);
      return set;
    },
    pollSockets: new Set(),
    touchPresence(channel, user) {
      if (user === null) return;
      // Presence is best effort: one line when it starts failing and one when it works
      // again, not one per heartbeat of every client while the broker is away.
      broker.touchPresence(channel, user, settings.presenceTtlMs).then(
        () => {
          if (!presenceFailing) return;
          presenceFailing = false;
          process.stderr.write("presence updates work again\n");
        },
        (error: unknown) => {
          if (presenceFailing) return;
          presenceFailing = true;
          process.stderr.write(
            `presence updates failing (first on ${channel}): ${String(error)}\n`,
          );
        },
      );
    },
  };
}
