import { type ClientHttp2Session, type ClientHttp2Stream, connect } from "node:http2";
import { monoMs } from "../util/clock.js";
import type { EventStreamDialect } from "./dialect.js";
import { EventStreamClient, notAnEventStream } from "./event-stream.js";
import { originOf } from "./http.js";
import { REFERENCE_SSE_H2 } from "./reference-wire.js";
import { refusalWaitMs } from "./retry-after.js";
import { type ClientTlsState, type ConnectPhaseRecorder, connectSocket } from "./tls.js";
import {
  type ClientContext,
  type ClientOptions,
  numberSetting,
  type SocketTracker,
  type TransportClient,
} from "./types.js";

/**
 * SSE over HTTP/2: the same event stream as `sse`, but each
 * client's subscription is one stream of a shared HTTP/2 session, as a
 * browser multiplexes every EventSource of an origin over one connection.
 * A session carries up to `streamsPerConnection` streams; the next client
 * opens another session. Bytes are counted from the sessions' sockets.
 * An https: target gets HTTP/2 over TLS negotiated by ALPN, as browsers
 * speak it; an http: target gets cleartext h2c with prior knowledge.
 */
export class SseH2Client extends EventStreamClient {
  readonly protocol = "sse-h2";
  private stream: ClientHttp2Stream | undefined;
  private lease: SessionLease | undefined;

  constructor(options: ClientOptions, dialect: EventStreamDialect = REFERENCE_SSE_H2) {
    super(options, dialect);
  }

  connect(): Promise<void> {
    const { baseUrl, since } = this.options;
    const path = this.dialect.path(this.options);
    const lease = sessionPool(this.context).lease(
      originOf(baseUrl),
      numberSetting(this.options, "streamsPerConnection"),
    );
    this.lease = lease;
    const headers: Record<string, string> = {
      ":path": path,
      accept: "text/event-stream",
      "cache-control": "no-cache",
    };
    if (since !== undefined) headers["last-event-id"] = since;
    const startedAt = monoMs();
    this.context.counters.requests++;

    return new Promise<void>((resolve, reject) => {
      const stream = lease.session.request(headers);
      this.stream = stream;
      const fail = (error: Error) => {
        this.closed = true;
        this.release();
        reject(error);
      };
      // A server that accepts TCP but never answers (stalled) must not hang an attempt.
      const answerTimer = setTimeout(
        () =>
          fail(new Error(`GET ${path}: no response within ${this.options.requestTimeoutMs} ms`)),
        this.options.requestTimeoutMs,
      );
      stream.once("response", (head) => {
        clearTimeout(answerTimer);
        const problem = notAnEventStream(head[":status"], String(head["content-type"] ?? ""));
        if (problem !== null) {
          const retryAfter = head["retry-after"];
          this.retryAfterMs = refusalWaitMs(
            head[":status"],
            Array.isArray(retryAfter) ? retryAfter[0] : retryAfter,
          );
          fail(new Error(`GET ${path} (HTTP/2): ${problem}`));
          return;
        }
        if (this.closed) {
          this.release();
          resolve();
          return;
        }
        this.opened(startedAt);
        stream.on("data", this.onData);
        resolve();
      });
      stream.once("end", this.onEnd);
      stream.once("close", () => {
        clearTimeout(answerTimer);
        if (this.ready) this.onEnd();
        else if (!this.closed)
          fail(new Error(`GET ${path} (HTTP/2): stream closed before a response`));
      });
      stream.on("error", (error) => {
        clearTimeout(answerTimer);
        if (this.ready) this.onError(error);
        else if (!this.closed) fail(error);
      });
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.release();
  }

  protected abort(): void {
    this.release();
  }

  /**
   * Ends this client's stream (if still open) and gives its place in the
   * session back, once. destroy(), not close(): a stream whose answer was
   * not read (an error body) would otherwise never finish closing, and would
   * hold its session open.
   */
  private release(): void {
    this.stream?.destroy();
    this.lease?.release();
    this.lease = undefined;
  }
}

export function createSseH2Client(
  options: ClientOptions,
  dialect?: EventStreamDialect,
): TransportClient {
  return new SseH2Client(options, dialect);
}

/** One client's place in a session; `release` at most once. */
interface SessionLease {
  readonly session: ClientHttp2Session;
  release(): void;
}

/** What an sse-h2 connection offers by ALPN: HTTP/2 only (a browser would fall back to 1.1). */
const H2_ALPN = ["h2"] as const;

/** The HTTP/2 sessions of one generator process, shared by its sse-h2 clients. */
function sessionPool(context: ClientContext): SessionPool {
  let pool = context.shared.get("sse-h2") as SessionPool | undefined;
  if (pool === undefined) {
    pool = new SessionPool(context.sockets, context.tls, context.phases);
    context.shared.set("sse-h2", pool);
  }
  return pool;
}

class PooledSession {
  streams = 0;

  constructor(readonly session: ClientHttp2Session) {}

  get usable(): boolean {
    return !this.session.closed && !this.session.destroyed;
  }

  /** Streams this session may carry: `wanted`, or fewer when the server allows fewer. */
  room(wanted: number): number {
    // Before the server's SETTINGS arrive this is the protocol's "unlimited".
    const allowed = this.session.remoteSettings.maxConcurrentStreams ?? wanted;
    return Math.min(wanted, allowed);
  }
}

class SessionPool {
  private readonly byOrigin = new Map<string, PooledSession[]>();

  constructor(
    private readonly sockets: SocketTracker,
    private readonly tls: ClientTlsState,
    private readonly phases: ConnectPhaseRecorder | undefined,
  ) {}

  /** A place in a session to `origin` that has room, opening a session when none has. */
  lease(origin: string, maxStreams: number): SessionLease {
    let sessions = this.byOrigin.get(origin);
    if (sessions === undefined) {
      sessions = [];
      this.byOrigin.set(origin, sessions);
    }
    let pooled = sessions.find((s) => s.usable && s.streams < s.room(maxStreams));
    if (pooled === undefined) {
      pooled = new PooledSession(this.open(origin));
      sessions.push(pooled);
    }
    pooled.streams++;
    const taken = pooled;
    const list = sessions;
    let released = false;
    return {
      session: taken.session,
      release: () => {
        if (released) return;
        released = true;
        taken.streams--;
        if (taken.streams > 0 && taken.usable) return;
        // Nobody uses it (or it died): close it, so a run's end leaves no connection behind.
        const index = list.indexOf(taken);
        if (index >= 0) list.splice(index, 1);
        if (taken.streams === 0) taken.session.close();
      },
    };
  }

  private open(origin: string): ClientHttp2Session {
    const { hostname, port, protocol } = new URL(origin);
    const secure = protocol === "https:";
    const session = connect(origin, {
      // Our own socket, so its bytes are counted from the first one (the preface).
      createConnection: () => {
        const host = hostname.startsWith("[") ? hostname.slice(1, -1) : hostname;
        const target = { host, port: Number(port) || (secure ? 443 : 80), secure };
        const socket = connectSocket(target, this.tls, this.phases, H2_ALPN);
        this.sockets.track(socket);
        return socket;
      },
    });
    // Session errors reach every stream on it, which is where clients handle them.
    session.on("error", () => {});
    return session;
  }
}
