import type { Socket } from "node:net";
import type { ServerFanout, ServerRouting } from "../src/shared/server-launch.js";
import type { AccessSettings } from "./access.js";
import type { Admission } from "./admission.js";
import type { Broker, HistoryLimits, MemberLimits } from "./broker/types.js";
import type { H2Limits } from "./h2-sessions.js";
import type { Hub } from "./hub.js";
import type { ServerLimits } from "./limits.js";
import type { ServerMetrics } from "./metrics.js";
import type { PresenceEvents } from "./presence-events.js";

/** Settings every transport reads, resolved from ReferenceServerOptions. */
export interface ServerSettings extends ServerLimits, AccessSettings {
  instanceId: string;
  heartbeatIntervalMs: number;
  presenceTtlMs: number;
  /** The broker's history limits; null when the broker was made elsewhere and handed in. */
  history: HistoryLimits | null;
  maxBodyBytes: number;
  /** Test-only: every live delivery is held this long (the hub applies it). */
  deliveryDelayMs: number;
  /** What SSE clients are told to wait before reconnecting (`retry:`). */
  sseRetryMs: number;
  /** A subscriber whose socket holds more unsent bytes than this is cut off, not buffered for. */
  maxBufferedBytes: number;
  /** Fault-injection endpoints (`POST /admin/drop`) are mounted; off unless asked for. */
  admin: boolean;
  /** sticky: this instance's broker is its own (what /healthz reports; the broker was made so). */
  routing: ServerRouting;
  /** How messages reach subscribers: push (write), notify and fetch (read), push plus unread counters (tiered). */
  fanout: ServerFanout;
  presenceEvents: boolean;
  presenceBatchMs: number;
  /** Limits of HTTP/2 sessions (SSE over h2c). */
  h2: H2Limits;
  /** Caps and expiry of `PUT /api/members/C` (mounted with tiered fan-out only). */
  members: MemberLimits;
  /**
   * WebSockets accept permessage-deflate when a client offers it, compressing
   * frames of at least this many bytes; null: the extension is refused.
   */
  wsDeflateThreshold: number | null;
}

/** A connection the server keeps open: heartbeats go through it, shutdown ends it. */
export interface LiveConnection {
  /** Called once per heartbeat interval. */
  heartbeat(): void;
  /** Graceful end for server shutdown (WebSocket 1001, SSE end, long poll answered). */
  shutdown(): void;
  /**
   * Abrupt end, as a load balancer reset would cause: no close handshake, no
   * final answer (fault injection, `POST /admin/drop`).
   */
  drop(): void;
}

/** What the router hands each transport. */
export interface ServerContext {
  readonly broker: Broker;
  readonly hub: Hub;
  readonly metrics: ServerMetrics;
  readonly settings: ServerSettings;
  /** Counts open connections; refuses new subscribers beyond `settings.maxConnections`. */
  readonly admission: Admission;
  /**
   * Open connections by transport name (every mounted transport has a set);
   * short polls count their in-flight requests. Heartbeats, shutdown and
   * fault injection go through these sets, whatever the transport.
   */
  readonly connections: ReadonlyMap<string, Set<LiveConnection>>;
  /** `connections.get(transport)`, for a transport that is mounted. */
  connectionsOf(transport: string): Set<LiveConnection>;
  /**
   * Sockets that carried a short or long poll and are still open (keep-alive
   * between polls): a connection reset must reach pollers too. Only filled
   * when `settings.admin` is on.
   */
  readonly pollSockets: Set<Socket>;
  /** Marks `user` present on `channel` (no-op for null); failures are logged, never thrown. */
  touchPresence(channel: string, user: string | null): void;
  /** Join/leave events for subscribers (server.presenceEvents); null when off. */
  readonly presenceEvents: PresenceEvents | null;
}
