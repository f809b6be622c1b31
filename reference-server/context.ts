import type { Socket } from "node:net";
import type { ProtocolName } from "../src/shared/protocol.js";
import type { Admission } from "./admission.js";
import type { Broker } from "./broker/types.js";
import type { Hub } from "./hub.js";
import type { ServerLimits } from "./limits.js";
import type { ServerMetrics } from "./metrics.js";

/** Settings every transport reads, resolved from ReferenceServerOptions. */
export interface ServerSettings extends ServerLimits {
  instanceId: string;
  heartbeatIntervalMs: number;
  presenceTtlMs: number;
  maxBodyBytes: number;
  /** What SSE clients are told to wait before reconnecting (`retry:`). */
  sseRetryMs: number;
  /** A subscriber whose socket holds more unsent bytes than this is cut off, not buffered for. */
  maxBufferedBytes: number;
  /** Fault-injection endpoints (`POST /admin/drop`) are mounted; off unless asked for. */
  admin: boolean;
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
  /** Open connections by transport; short polls count their in-flight requests. */
  readonly connections: Record<ProtocolName, Set<LiveConnection>>;
  /**
   * Sockets that carried a short or long poll and are still open (keep-alive
   * between polls): a connection reset must reach pollers too. Only filled
   * when `settings.admin` is on.
   */
  readonly pollSockets: Set<Socket>;
  /** Marks `user` present on `channel` (no-op for null); failures are logged, never thrown. */
  touchPresence(channel: string, user: string | null): void;
}
