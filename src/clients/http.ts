import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import { buildConnector, Client, Pool } from "undici";
import { MAX_ANSWER_BYTES } from "./bounds.js";
import { type ClientTlsState, connectSocket } from "./tls.js";
import type { SocketTracker } from "./types.js";

/**
 * An undici connector that registers every socket it opens, so bytes come
 * from the sockets. For https: origins it speaks TLS through clients/tls.ts.
 */
export function createTrackedConnector(
  sockets: SocketTracker,
  tls?: ClientTlsState,
): buildConnector.connector {
  const connect = buildConnector({});
  return (options, callback) => {
    if (tls !== undefined && options.protocol === "https:") {
      connectTls(options, tls, sockets, callback);
      return;
    }
    connect(options, (error, socket) => {
      if (socket) sockets.track(socket as Socket);
      if (error) callback(error, null);
      else callback(null, socket as Socket);
    });
  };
}

/**
 * An https: connection through clients/tls.ts: the process's trust, SNI and
 * sessions, and bytes counted from the TCP socket under TLS (the wire's).
 */
function connectTls(
  options: buildConnector.Options,
  tls: ClientTlsState,
  sockets: SocketTracker,
  callback: buildConnector.Callback,
): void {
  const target = { host: options.hostname, port: Number(options.port) || 443, secure: true };
  const socket = connectSocket(target, tls, undefined) as TLSSocket;
  sockets.track(socket);
  const fail = (error: Error) => callback(error, null);
  socket.once("error", fail);
  socket.once("secureConnect", () => {
    socket.off("error", fail);
    callback(null, socket);
  });
}

/**
 * One keep-alive connection, as one browser tab has: a poll client never has
 * two requests in flight, so a pipelining depth of 1 is the honest model.
 */
export function createTrackedClient(
  baseUrl: string,
  sockets: SocketTracker,
  timeouts?: { headersTimeoutMs: number; bodyTimeoutMs: number },
  tls?: ClientTlsState,
): Client {
  return new Client(originOf(baseUrl), {
    connect: createTrackedConnector(sockets, tls),
    pipelining: 1,
    // No maxResponseSize: undici counts a whole response, and an EventSource's is endless.
    headersTimeout: timeouts?.headersTimeoutMs,
    bodyTimeout: timeouts?.bodyTimeoutMs,
  });
}

/**
 * Up to `connections` keep-alive sockets, one request in flight on each: a
 * slow answer on one never holds back the requests behind it (no
 * pipelining). undici's own header and body timeouts are off: callers bound
 * every request with an AbortSignal instead.
 */
export function createTrackedPool(
  baseUrl: string,
  sockets: SocketTracker,
  connections: number,
  tls?: ClientTlsState,
): Pool {
  return new Pool(originOf(baseUrl), {
    connect: createTrackedConnector(sockets, tls),
    connections,
    pipelining: 1,
    // A publish answer is small: an endless one fails the publish, not the generator's memory.
    maxResponseSize: MAX_ANSWER_BYTES,
    headersTimeout: 0,
    bodyTimeout: 0,
  });
}

/** `http://host:port` from a base URL that may carry a path prefix. */
export function originOf(baseUrl: string): string {
  return new URL(baseUrl).origin;
}

/** The path prefix of a base URL without a trailing slash (`""` for a bare origin). */
export function basePathOf(baseUrl: string): string {
  const pathname = new URL(baseUrl).pathname;
  return pathname.endsWith("/") ? pathname.slice(0, -1) : pathname;
}

/**
 * A route template (`/api/stream/{channel}`, from a transport's row or
 * ROUTES) with the channel filled in, under the base URL's path prefix.
 */
export function routePath(baseUrl: string, template: string, channel?: string): string {
  const path =
    channel === undefined ? template : template.replace("{channel}", encodeURIComponent(channel));
  return basePathOf(baseUrl) + path;
}

/** `key=value&...` with values encoded; undefined values are left out. */
export function queryString(params: Record<string, string | undefined>): string {
  let out = "";
  for (const key in params) {
    const value = params[key];
    if (value === undefined) continue;
    out += `${out === "" ? "" : "&"}${key}=${encodeURIComponent(value)}`;
  }
  return out;
}

/** Reads an error answer's `{"error": "..."}` text, or the raw text, for messages a user sees. */
export function errorAnswerText(raw: string): string {
  try {
    const parsed = JSON.parse(raw) as { error?: unknown };
    if (typeof parsed.error === "string") return parsed.error;
  } catch {
    // not JSON: show the raw text
  }
  return raw.length > 200 ? `${raw.slice(0, 200)}...` : raw;
}
