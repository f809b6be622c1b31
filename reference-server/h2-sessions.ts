import {
  constants,
  type Http2Server,
  type ServerHttp2Session,
  type ServerHttp2Stream,
  type ServerOptions,
} from "node:http2";

/** The HTTP/2 limits one instance runs with (`server.h2` in a scenario). */
export interface H2Limits {
  /** SETTINGS_MAX_CONCURRENT_STREAMS: streams one session may hold open at once. */
  maxStreams: number;
  /** A session with no open stream for this long is closed (GOAWAY). */
  idleTimeoutMs: number;
}

export const DEFAULT_H2_MAX_STREAMS = 100;
export const DEFAULT_H2_IDLE_TIMEOUT_MS = 30_000;

/**
 * SETTINGS_MAX_HEADER_LIST_SIZE: an SSE request's headers are a path and a
 * cursor; Node answers a larger header block with RST_STREAM, not memory.
 */
const MAX_HEADER_LIST_BYTES = 16 * 1024;
/** SETTINGS_MAX_FRAME_SIZE: the protocol's minimum, advertised rather than assumed. */
const MAX_FRAME_BYTES = 16 * 1024;
/**
 * Resets from the client allowed per session per second, as a multiple of
 * the streams it may hold (at least MIN_RESETS_PER_SECOND): a client closing
 * every stream it has at once stays well below, a rapid-reset attack (open,
 * reset, open again, thousands a second) does not.
 */
const RESETS_PER_STREAM_PER_SECOND = 2;
const MIN_RESETS_PER_SECOND = 200;

/**
 * The HTTP/2 server's options: every limit advertised in SETTINGS is one
 * nghttp2 also enforces on what the client sends (a stream beyond
 * maxConcurrentStreams is refused with RST_STREAM).
 */
export function h2ServerOptions(limits: H2Limits): ServerOptions {
  return {
    settings: {
      maxConcurrentStreams: limits.maxStreams,
      maxHeaderListSize: MAX_HEADER_LIST_BYTES,
      maxFrameSize: MAX_FRAME_BYTES,
      // Server push is never used; say so.
      enablePush: false,
    },
    maxHeaderListPairs: 64,
    // Node's own bounds, stated: unanswered PINGs (a flood closes the
    // session), entries per SETTINGS frame, memory for the session's frames
    // (MB), refused streams and invalid frames before the session is closed.
    maxOutstandingPings: 10,
    maxSettings: 32,
    maxSessionMemory: 10,
    maxSessionRejectedStreams: 100,
    maxSessionInvalidFrames: 100,
  };
}

/**
 * What every session gets when it starts: streams' errors heard (a reset
 * stream emits 'error', and an unheard one would end the process), the
 * idle timeout, and the reset-rate cap. Open sessions are in `sessions`
 * until they close, for shutdown.
 */
export function guardH2Sessions(
  h2: Http2Server,
  limits: H2Limits,
  sessions: Set<ServerHttp2Session>,
): void {
  const maxResetsPerSecond = Math.max(
    MIN_RESETS_PER_SECOND,
    RESETS_PER_STREAM_PER_SECOND * limits.maxStreams,
  );
  h2.on("session", (session: ServerHttp2Session) => {
    sessions.add(session);
    const guard = new SessionGuard(session, limits.idleTimeoutMs, maxResetsPerSecond);
    session.once("close", () => {
      guard.stop();
      sessions.delete(session);
    });
    // A session that breaks (reset, protocol error, GOAWAY below) ends its streams; nothing else to do.
    session.on("error", ignore);
    session.on("stream", (stream: ServerHttp2Stream) => guard.opened(stream));
  });
}

/** Per session: open streams, the idle timer and this second's resets. */
class SessionGuard {
  private open = 0;
  private idleTimer: NodeJS.Timeout | null = null;
  private windowStartMs = 0;
  private resets = 0;

  constructor(
    private readonly session: ServerHttp2Session,
    private readonly idleTimeoutMs: number,
    private readonly maxResetsPerSecond: number,
  ) {
    this.startIdle();
  }

  opened(stream: ServerHttp2Stream): void {
    // Before anything can write to it: a stream reset by the client emits 'error'.
    stream.on("error", ignore);
    this.open++;
    this.stopIdle();
    stream.once("close", () => this.closed(stream));
  }

  stop(): void {
    this.stopIdle();
  }

  private closed(stream: ServerHttp2Stream): void {
    this.open--;
    // Aborted: closed before the server ended it, by a reset the server did not send.
    if (stream.aborted && !resetByServer.has(stream)) this.countReset();
    if (this.open === 0 && !this.session.destroyed) this.startIdle();
  }

  private countReset(): void {
    const now = performance.now();
    if (now - this.windowStartMs >= 1000) {
      this.windowStartMs = now;
      this.resets = 0;
    }
    if (++this.resets <= this.maxResetsPerSecond || this.session.destroyed) return;
    // Rapid reset (CVE-2023-44487): the client makes the server set up streams it then drops.
    // An error must be given for the code to reach the GOAWAY (Node sends NO_ERROR without one).
    this.session.destroy(
      new Error(`more than ${this.maxResetsPerSecond} stream resets in a second`),
      constants.NGHTTP2_ENHANCE_YOUR_CALM,
    );
  }

  private startIdle(): void {
    this.stopIdle();
    this.idleTimer = setTimeout(closeIdle, this.idleTimeoutMs, this.session);
    this.idleTimer.unref();
  }

  private stopIdle(): void {
    if (this.idleTimer !== null) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }
}

/** Streams the server itself reset: those are not the client's resets to count. */
const resetByServer = new WeakSet<ServerHttp2Stream>();

/** Ends `stream` abruptly (RST_STREAM with `code`), not as a client reset. */
export function resetStream(stream: ServerHttp2Stream, code: number): void {
  resetByServer.add(stream);
  stream.close(code);
}

/** GOAWAY: no stream was opened for the idle timeout. */
function closeIdle(session: ServerHttp2Session): void {
  if (!session.closed) session.close();
}

function ignore(): void {}
