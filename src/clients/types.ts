import type { Socket } from "node:net";
import type { PresenceEvent } from "../shared/protocol.js";
import type { ProtocolName, TransportSettings } from "../shared/transports.js";
import type { ClientNetwork } from "./shaped-socket.js";
import { type ClientTlsState, type ConnectPhaseRecorder, createClientTlsState } from "./tls.js";

/**
 * One simulated subscriber. Every transport's client implements this
 * interface and is registered under its transport's name in `registry.ts`.
 *
 * A client does not time anything itself beyond connect: it reports events to
 * its `ClientHandlers`, and the load runner turns them into metrics.
 */
export interface TransportClient {
  readonly protocol: ProtocolName;
  /**
   * Opens the connection (or the first poll) and resolves once the transport is
   * ready: WebSocket open, SSE response headers with 200 and
   * text/event-stream, polling the first answer. Rejects if the first attempt fails.
   */
  connect(): Promise<void>;
  /** Stops for good: closes sockets, cancels timers and held requests. Never throws. */
  close(): void;
  /** The last cursor received from the server (opaque string), sent back on resume. */
  readonly cursor: string | undefined;
  /**
   * `monoMs()` (util/clock.ts, the fleet's clock) of the last traffic from the
   * server (messages, pings, heartbeat comments), for the client-side
   * watchdog. Streaming clients only.
   */
  readonly lastActivityMs?: number;
  /** SSE: the server's `retry:` value, which a browser uses as its reconnect delay. */
  readonly retryMs?: number;
  /**
   * The server is full and said when to come back (a 503 or 429 with
   * `Retry-After`, a WebSocket close 1013): the wait in ms, set when the
   * attempt was refused or the connection closed (clients/retry-after.ts).
   */
  readonly retryAfterMs?: number;
}

export interface ClientHandlers {
  /** The transport became ready; `connectMs` is attempt start -> ready. */
  onReady(connectMs: number): void;
  /**
   * A message arrived. `id` is the server's cursor for it (opaque), `body` the
   * publisher's payload, parsed. Called synchronously on the socket's data path,
   * so take the receive time first thing.
   */
  onMessage(id: string, body: unknown): void;
  /**
   * The server said ids `from`..`to` are gone (resume older than history).
   * `reset`: the cursor was not from the server's history; ids start again.
   */
  onGap(from: string, to: string, reset?: boolean): void;
  /** Tiered fan-out: a returning member missed `count` messages, up to id `lastId`. */
  onUnread?(count: number, lastId: string): void;
  /** Join and leave events on the channel (server.presenceEvents). */
  onPresence?(events: readonly PresenceEvent[]): void;
  /**
   * Something arrived that the target protocol has no place for (a frame or
   * an event that is not JSON, a poll answer without its list, an item
   * without a body): ignored, counted, and never a reason to crash. `what`
   * says which; `frame` is what arrived (see WireSink.unrecognised).
   */
  onUnrecognised(what?: string, frame?: unknown): void;
  /** The connection broke (close, error, missed heartbeats) after it was ready. */
  onBreak(reason: string): void;
}

/** Shared by every client in one generator process. */
export interface ClientContext {
  /** Every socket a client opens is registered here, so bytes are counted from the sockets. */
  sockets: SocketTracker;
  /** HTTP requests sent and poll answers that carried no message. */
  counters: { requests: number; emptyPolls: number };
  /**
   * State a transport shares between its clients in this process, by
   * transport name (HTTP/2 sessions that carry many clients' streams).
   */
  shared: Map<string, unknown>;
  /** TLS for https:// and wss:// targets: settings and the sessions kept for resumption. */
  tls: ClientTlsState;
  /** Where each connection's TCP, TLS handshake and HTTP times go; undefined: not recorded. */
  phases?: ConnectPhaseRecorder;
}

/** Where a client's sockets connect from: a loopback address and an explicit port. */
export interface SourceEndpoint {
  address: string;
  port: number;
}

export interface ClientOptions {
  /** Base URL of the server instance, `http://127.0.0.1:8080`. */
  baseUrl: string;
  channel: string;
  /** Sent as `?user=` so presence can see the client. */
  user: string;
  /**
   * Source address and port for the client's sockets, so that tens of
   * thousands of connections to one server port never wait on the system's
   * search for a free port (see load/shards/assign.ts). Undefined: the system picks.
   */
  source?: SourceEndpoint;
  /** Resume after this cursor; undefined means "from now". */
  since?: string;
  /**
   * The transport's scenario settings, as its row in transports.ts names
   * them (`intervalMs` for short polling), passed through untouched.
   */
  settings: TransportSettings;
  /**
   * A poll without an answer this long (beyond a long poll's hold time) is
   * treated as a dead connection, as a stalled server would leave it.
   */
  requestTimeoutMs: number;
  handlers: ClientHandlers;
  context: ClientContext;
  /**
   * The client's network (`clients.network`), shared by its connections;
   * undefined: a perfect one. Only transports whose row says `shapeable` get one.
   */
  network?: ClientNetwork;
}

export type ClientFactory = (options: ClientOptions) => TransportClient;

/** A numeric setting of the client's transport; a missing one is a programming error. */
export function numberSetting(options: ClientOptions, field: string): number {
  const value = options.settings[field];
  if (typeof value !== "number") {
    throw new TypeError(`transport setting ${field}: expected a number, found ${String(value)}`);
  }
  return value;
}

/** A fresh context for one generator process. */
export function createClientContext(tls: ClientTlsState = createClientTlsState()): ClientContext {
  return {
    sockets: new SocketTracker(),
    counters: { requests: 0, emptyPolls: 0 },
    shared: new Map(),
    tls,
  };
}

/**
 * Counts bytes on the wire, both directions, headers included, from the
 * sockets' own `bytesRead`/`bytesWritten` counters.
 */
export class SocketTracker {
  private readonly open = new Set<Socket>();
  private closedBytesIn = 0;
  private closedBytesOut = 0;

  track(socket: Socket): void {
    if (this.open.has(socket)) return;
    this.open.add(socket);
    socket.once("close", () => {
      this.open.delete(socket);
      this.closedBytesIn += socket.bytesRead;
      this.closedBytesOut += socket.bytesWritten;
    });
  }

  /**
   * For a socket whose owner reports its close with `release` (the lean
   * clients): no close listener of our own, which at tens of thousands of
   * sockets is memory worth saving.
   */
  adopt(socket: Socket): void {
    this.open.add(socket);
  }

  /** The adopted socket closed: its final counts move to the totals. */
  release(socket: Socket): void {
    if (!this.open.delete(socket)) return;
    this.closedBytesIn += socket.bytesRead;
    this.closedBytesOut += socket.bytesWritten;
  }

  /** TCP connections open now. */
  get openCount(): number {
    return this.open.size;
  }

  /** Totals so far, open and closed sockets together. */
  totals(): { bytesIn: number; bytesOut: number } {
    let bytesIn = this.closedBytesIn;
    let bytesOut = this.closedBytesOut;
    for (const socket of this.open) {
      bytesIn += socket.bytesRead;
      bytesOut += socket.bytesWritten;
    }
    return { bytesIn, bytesOut };
  }
}
