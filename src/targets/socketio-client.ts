import { type ClientRequest, Agent as HttpAgent } from "node:http";
import type { Socket as NetSocket } from "node:net";
import { io, type Socket } from "socket.io-client";
import { originOf } from "../clients/http.js";
import { type ClientNetwork, ShapedSocket } from "../clients/shaped-socket.js";
import type {
  ClientContext,
  ClientHandlers,
  ClientOptions,
  TransportClient,
} from "../clients/types.js";
import { transport } from "../shared/transports.js";
import { monoMs } from "../util/clock.js";
import { compilePointer, type Pointer, readPointer } from "./json-pointer.js";
import type { SocketIoTemplate, TargetWire } from "./types.js";
import { fillPlain } from "./wire.js";

/**
 * A Socket.IO subscriber through socket.io-client, on one engine.io
 * transport: `websocket` for rtbench's WebSocket column, `polling` (engine.io's
 * long polls) for the long-poll column, without upgrades, so each column
 * measures one transport. Socket.IO's own reconnection is off: reconnecting
 * with backoff is the fleet's job, and a new connection resumes with the
 * session id and offset of the last message when the server has connection
 * state recovery on (the cursor is both, as `<pid> <offset>`).
 */

/** The engine.io transport behind each rtbench transport this protocol offers. */
export const ENGINE_TRANSPORT: Readonly<Record<string, "websocket" | "polling">> = {
  websocket: "websocket",
  "long-poll": "polling",
};

/** Socket.IO's packet type for CONNECT (socket.io-parser's PacketType.CONNECT). */
const CONNECT_PACKET = 0;

/** The part of http.Agent that queues a request: every HTTP request a client makes passes here. */
interface RequestQueue {
  addRequest(request: ClientRequest, options: unknown): void;
}

/**
 * A keep-alive agent per client, as a browser tab has its own connections:
 * it registers every socket (bytes on the wire) and counts every request
 * (polls, posts, the WebSocket upgrade). It also remembers the connections it
 * opened, upgraded ones included (http.Agent forgets those), so `cut` can
 * drop them all.
 *
 * It is also how a Socket.IO client sits behind its network
 * (`clients.network`, flaps): socket.io-client hands its `agent` option to
 * engine.io-client, which gives it to every request of both transports
 * (xmlhttprequest-ssl's polls, and `ws`, whose upgrade request goes through
 * http.request with this agent, so the upgraded socket is the one made
 * here). With a network, each TCP connection is wrapped in a ShapedSocket,
 * as the lean clients' are in clients/tls.ts.
 */
export class TrackedAgent extends HttpAgent {
  private readonly opened = new Set<NetSocket>();

  constructor(
    private readonly context: ClientContext,
    private readonly network?: ClientNetwork,
  ) {
    super({ keepAlive: true });
  }

  override createConnection(
    ...args: Parameters<HttpAgent["createConnection"]>
  ): ReturnType<HttpAgent["createConnection"]> {
    const tcp = super.createConnection(...args) as NetSocket | undefined;
    // The shaped socket stands in for the TCP one: http and ws use only the
    // members it has (write, the events, byte counts, timeouts, ref), though
    // not the whole net.Socket type.
    const socket =
      tcp === undefined || this.network === undefined
        ? tcp
        : (new ShapedSocket(tcp, this.network) as unknown as NetSocket);
    if (socket) {
      this.context.sockets.track(socket);
      this.opened.add(socket);
      socket.once("close", () => this.opened.delete(socket));
    }
    return socket;
  }

  /** Destroys every connection this agent opened, at once: no closing handshake. */
  cut(): void {
    for (const socket of this.opened) socket.destroy();
    this.opened.clear();
  }

  addRequest(request: ClientRequest, options: unknown): void {
    this.context.counters.requests++;
    (HttpAgent.prototype as unknown as RequestQueue).addRequest.call(this, request, options);
  }
}

/** What every client of one shard shares: compiled once. */
export interface SocketIoWire {
  template: SocketIoTemplate;
  body: Pointer;
}

export function compileSocketIoWire(wire: TargetWire): SocketIoWire {
  if (wire.socketio === undefined) throw new RangeError("no socketio options");
  return { template: wire.socketio, body: compilePointer(wire.message?.body ?? "") };
}

/** `{pid, offset}` for the handshake from a `<pid> <offset>` cursor. */
function recoveryAuth(cursor: string | undefined): { pid: string; offset: string } | undefined {
  const space = cursor ? cursor.indexOf(" ") : -1;
  if (!cursor || space < 0) return undefined;
  return { pid: cursor.slice(0, space), offset: cursor.slice(space + 1) };
}

export class SocketIoClient implements TransportClient {
  cursor: string | undefined;
  private readonly handlers: ClientHandlers;
  private readonly agent: TrackedAgent;
  private socket: Socket | undefined;
  /** The session id the server gave (only with connection state recovery). */
  private pid = "";
  private ready = false;
  private closed = false;
  /**
   * Events emitted before 'connect'. With connection state recovery the
   * server sends the missed events before its CONNECT packet, and
   * socket.io-client emits them before 'connect': they are held here and
   * delivered, in order, once the subscriber has been told the connection is
   * ready (it drops what arrives while it still counts itself broken).
   */
  private early: unknown[][] | null = [];

  constructor(
    readonly protocol: string,
    private readonly options: ClientOptions,
    private readonly wire: SocketIoWire,
  ) {
    this.handlers = options.handlers;
    this.cursor = options.since;
    this.agent = new TrackedAgent(options.context, options.network);
  }

  connect(): Promise<void> {
    const { baseUrl, channel, user, since, requestTimeoutMs } = this.options;
    const { template } = this.wire;
    const query: Record<string, string> = {};
    for (const [name, value] of Object.entries(template.query)) {
      query[name] = fillPlain(value, { channel, user });
    }
    const startedAt = monoMs();
    // The origin only: in a Socket.IO URL a path names a namespace.
    const socket = io(originOf(baseUrl), {
      path: template.path,
      transports: [ENGINE_TRANSPORT[this.protocol] ?? "websocket"],
      upgrade: false,
      reconnection: false,
      forceNew: true,
      // Opened below, once the session id is listened for.
      autoConnect: false,
      timeout: requestTimeoutMs,
      agent: this.agent as unknown as string,
      query,
      auth: recoveryAuth(since) ?? {},
    });
    this.socket = socket;
    // The CONNECT answer carries the session id that a later connection resumes with.
    // Listened for before the socket opens, so before the socket's own listener: the
    // socket announces 'connect' (and hands over the events recovered before it) from
    // that same packet, and they must carry the session id in their cursors.
    socket.io.on("packet", (packet) => {
      if (packet.type === CONNECT_PACKET) this.pid = String(packet.data?.pid ?? "");
    });
    socket.on(template.event, this.onEvent);
    // A polling engine transport: its empty answers are the cost to count, as for any poll.
    if (transport(this.protocol).delivery === "poll") this.countEmptyPolls(socket);
    socket.connect();
    return new Promise<void>((resolve, reject) => {
      socket.once("connect", () => {
        if (this.closed) return;
        this.ready = true;
        this.handlers.onReady(monoMs() - startedAt);
        const early = this.early ?? [];
        this.early = null;
        for (const args of early) this.deliver(args);
        resolve();
      });
      socket.once("connect_error", (error) => {
        if (this.ready) return;
        this.shutdown();
        reject(error);
      });
      socket.on("disconnect", (reason) => this.broke(`disconnected: ${reason}`));
    });
  }

  close(): void {
    if (this.closed) return;
    this.shutdown();
  }

  private readonly onEvent = (...args: unknown[]): void => {
    if (this.early !== null) this.early.push(args);
    else this.deliver(args);
  };

  private deliver(args: unknown[]): void {
    const body = args.length > 0 ? readPointer(args[0], this.wire.body) : undefined;
    if (body === undefined) {
      this.handlers.onUnrecognised();
      return;
    }
    // With recovery on, the server appends each message's offset as the last argument.
    const offset = args.length > 1 ? args[args.length - 1] : undefined;
    const id = typeof offset === "string" && this.pid !== "" ? `${this.pid} ${offset}` : "";
    this.cursor = id;
    this.handlers.onMessage(id, body);
  }

  /** A long poll answered without an event for this subscriber is an empty poll. */
  private countEmptyPolls(socket: Socket): void {
    let events = 0;
    socket.onAny(() => {
      events++;
    });
    socket.io.on("open", () => {
      const transport = socket.io.engine.transport as unknown as {
        on(event: "poll" | "pollComplete", listener: () => void): void;
      };
      transport.on("poll", () => {
        events = 0;
      });
      transport.on("pollComplete", () => {
        if (events === 0) this.options.context.counters.emptyPolls++;
      });
    });
  }

  /**
   * A broken connection is dropped at once, as the other WebSocket clients
   * do. engine.io-client would start a closing handshake on it instead, which
   * the server completes only after another round trip to this client; a
   * reconnect can overtake it, and Socket.IO then refuses to recover the
   * session because the old connection still looks open to it.
   */
  private broke(reason: string): void {
    if (this.closed) return;
    this.shutdown();
    this.agent.cut();
    if (this.ready) this.handlers.onBreak(reason);
  }

  private shutdown(): void {
    this.closed = true;
    this.socket?.disconnect();
    this.agent.destroy();
  }
}
