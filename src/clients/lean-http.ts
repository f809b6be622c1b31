import type { Socket } from "node:net";
import { Http1ResponseReader, type HttpAnswer, type HttpResponseHandler } from "./http1-parser.js";
import type { ClientNetwork } from "./shaped-socket.js";
import { type ClientTlsState, type ConnectPhaseRecorder, connectSocket } from "./tls.js";
import type { ClientContext, SocketTracker, SourceEndpoint } from "./types.js";

/** Where a lean connection goes, resolved once from a base URL. */
export interface HttpTarget {
  host: string;
  port: number;
  /** The `host` header value. */
  authority: string;
  /** Where the sockets connect from; undefined: the system picks. */
  source?: SourceEndpoint;
  /** An https: (or wss:) URL: the connection speaks TLS. */
  secure: boolean;
  /** The process's TLS settings and sessions (ClientContext.tls); undefined: defaults. */
  tls?: ClientTlsState;
  /** Where each connection's TCP, TLS and HTTP times go (ClientContext.phases). */
  phases?: ConnectPhaseRecorder;
  /** The client's shaped network (`clients.network`); undefined: the plain socket. */
  network?: ClientNetwork;
}

/**
 * Where a lean connection to `baseUrl` goes (http: or https:, ws: or wss:).
 * `context` brings the process's TLS state and the connect-phase recorder,
 * `network` the client's shaped network when it has one.
 */
export function httpTarget(
  baseUrl: string,
  source?: SourceEndpoint,
  context?: Pick<ClientContext, "tls" | "phases">,
  network?: ClientNetwork,
): HttpTarget {
  const url = new URL(baseUrl);
  const secure = url.protocol === "https:" || url.protocol === "wss:";
  if (!secure && url.protocol !== "http:" && url.protocol !== "ws:") {
    throw new Error(
      `lean HTTP client: expected an http: or https: URL, found ${url.protocol} in ${baseUrl}`,
    );
  }
  return {
    host: url.hostname.replace(/^\[|\]$/g, ""),
    port: url.port === "" ? (secure ? 443 : 80) : Number(url.port),
    authority: url.host,
    source,
    secure,
    tls: context?.tls,
    phases: context?.phases,
    network,
  };
}

/** A TCP (or TLS) connection to the target, from its source endpoint when it has one. */
export function connectTcp(target: HttpTarget): Socket {
  const { host, port, source, secure } = target;
  return connectSocket(
    { host, port, secure, localAddress: source?.address, localPort: source?.port },
    target.tls,
    target.phases,
    undefined,
    target.network,
  );
}

/** A GET's head for the target: request line, `host`, `headers` and the blank line. */
export function getRequestHead(
  target: HttpTarget,
  pathAndQuery: string,
  headers?: Readonly<Record<string, string>>,
): string {
  let head = `GET ${pathAndQuery} HTTP/1.1\r\nhost: ${target.authority}\r\n`;
  if (headers !== undefined) {
    for (const name in headers) head += `${name}: ${headers[name]}\r\n`;
  }
  return `${head}\r\n`;
}

/** What a lean connection reports; a poll client implements it with methods (no closure per request). */
export interface HttpExchangeHandler {
  onAnswer(answer: HttpAnswer): void;
  /** The request failed (connect error, reset, timeout, a malformed answer); the connection is gone. */
  onFailure(error: Error): void;
  /** The request was sent once more on a new connection (the reused one was closed under it). */
  onResend?(): void;
  /** A socket connected (before its request is answered). */
  onConnect?(): void;
}

/**
 * One keep-alive HTTP/1.1 connection with at most one request in flight, as
 * one browser tab polling has: `send` writes a request head the caller
 * built (a fixed template with the cursor filled in), the answer comes back
 * through the handler. The socket is opened on the first request and again
 * after the server closed it; a request that finds a reused connection
 * closed under it is sent once more on a new one, as browsers do for GETs.
 * Bytes are counted from the sockets by the tracker.
 */
export class HttpConnection implements HttpResponseHandler {
  private socket: Socket | null = null;
  private reader = new Http1ResponseReader(this);
  /** The last socket error, for the failure message. */
  private socketError: Error | null = null;
  private timerMs = 0;
  private request: string | Buffer = "";
  private inFlight = false;
  /** The request went out on a connection that had answered before. */
  private reused = false;
  private answeredOnSocket = false;
  private startedAtMs = 0;
  private timeoutMs = 0;
  private timer: NodeJS.Timeout | null = null;
  private destroyed = false;

  constructor(
    private readonly target: HttpTarget,
    private readonly sockets: SocketTracker,
    private readonly handler: HttpExchangeHandler,
  ) {}

  /** The request head: `GET <path> HTTP/1.1`, `host`, any extra headers and the blank line. */
  requestHead(pathAndQuery: string, headers?: Readonly<Record<string, string>>): string {
    return getRequestHead(this.target, pathAndQuery, headers);
  }

  /** Sends a request (a full head from `requestHead`, or its latin1 bytes); the answer or failure comes back once. */
  send(request: string | Buffer, timeoutMs: number): void {
    if (this.destroyed) throw new Error("HTTP connection destroyed");
    if (this.inFlight) throw new Error("HTTP connection busy: one request at a time");
    this.request = request;
    this.inFlight = true;
    this.timeoutMs = timeoutMs;
    this.startedAtMs = performance.now();
    this.armTimer(timeoutMs);
    if (this.socket === null) this.open();
    this.reused = this.answeredOnSocket;
    (this.socket as Socket).write(request, "latin1");
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.inFlight = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.socket?.destroy();
    this.socket = null;
  }

  // HttpResponseHandler, called by the reader.

  onAnswer(answer: HttpAnswer): void {
    if (!this.inFlight) throw new Error("an HTTP answer with no request outstanding");
    this.inFlight = false;
    this.answeredOnSocket = true;
    if (answer.closes) this.dropSocket();
    this.handler.onAnswer(answer);
  }

  private open(): void {
    const socket = connectTcp(this.target);
    this.socket = socket;
    this.socketError = null;
    this.answeredOnSocket = false;
    this.sockets.adopt(socket);
    if (this.handler.onConnect) socket.once("connect", () => this.handler.onConnect?.());
    socket.on("data", (chunk: Buffer) => this.onData(socket, chunk));
    socket.on("error", (error) => {
      // "close" follows; keep the reason for the failure it reports.
      this.socketError = error;
    });
    socket.once("close", (hadError) => {
      this.sockets.release(socket);
      this.onClose(socket, hadError);
    });
  }

  private onData(socket: Socket, chunk: Buffer): void {
    if (socket !== this.socket) return;
    try {
      this.reader.feed(chunk);
    } catch (error) {
      this.fail(error as Error);
    }
  }

  private onClose(socket: Socket, hadError: boolean): void {
    if (socket !== this.socket) return;
    this.socket = null;
    const cut = !this.reader.end();
    if (this.destroyed || !this.inFlight) {
      this.resetReader();
      return;
    }
    // Nothing of the answer came back on a reused connection: the server closed it idle.
    if (this.reused && !cut) {
      this.resetReader();
      this.reused = false;
      this.open();
      (this.socket as unknown as Socket).write(this.request, "latin1");
      this.handler.onResend?.();
      return;
    }
    const reason = hadError
      ? (this.socketError?.message ?? "connection reset")
      : "connection closed before the answer";
    this.fail(new Error(reason));
  }

  private fail(error: Error): void {
    if (this.destroyed) return;
    const wasInFlight = this.inFlight;
    this.dropSocket();
    this.inFlight = false;
    if (wasInFlight) this.handler.onFailure(error);
  }

  private dropSocket(): void {
    const socket = this.socket;
    this.socket = null;
    this.resetReader();
    socket?.destroy();
  }

  private resetReader(): void {
    // A fresh reader: whatever a dead socket left half-parsed is gone with it.
    this.reader = new Http1ResponseReader(this);
  }

  /** One timer per connection, re-armed per request with refresh() rather than recreated. */
  private armTimer(timeoutMs: number): void {
    if (this.timer === null || this.timerMs !== timeoutMs) {
      if (this.timer) clearTimeout(this.timer);
      this.timerMs = timeoutMs;
      this.timer = setTimeout(() => this.onTimer(), timeoutMs);
    } else {
      this.timer.refresh();
    }
  }

  private onTimer(): void {
    if (!this.inFlight || this.destroyed) return;
    const leftMs = this.startedAtMs + this.timeoutMs - performance.now();
    if (leftMs > 1) {
      this.timerMs = 0;
      this.timer = setTimeout(() => this.onTimer(), leftMs);
      return;
    }
    this.fail(new Error(`no answer within ${this.timeoutMs} ms`));
  }
}
