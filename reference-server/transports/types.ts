import type { IncomingMessage, ServerResponse } from "node:http";
import type { IncomingHttpHeaders, ServerHttp2Stream } from "node:http2";
import type { Duplex } from "node:stream";
import type { ServerContext } from "../context.js";

/**
 * The server half of one transport, mounted on one server. The router hands
 * it the requests on its row's route (src/shared/transports.ts), with the
 * channel already parsed from the path or the query; which handler is called
 * follows the row's `over`: `request` for HTTP/1.1, `upgrade` for a WebSocket
 * upgrade, `stream` for an HTTP/2 stream.
 *
 * Open connections register in `ctx.connections[name]`: the server sends
 * them heartbeats (when the row says so), ends them at shutdown and drops
 * them for fault injection, without knowing which transport they belong to.
 */
export interface MountedTransport {
  request?(req: IncomingMessage, res: ServerResponse, route: RouteMatch): Promise<void>;
  upgrade?(req: IncomingMessage, socket: Duplex, head: Buffer, route: RouteMatch): void;
  stream?(
    stream: ServerHttp2Stream,
    headers: IncomingHttpHeaders,
    route: RouteMatch,
  ): Promise<void>;
  /** Stops taking new connections (shutdown); open ones are ended through ctx.connections. */
  close?(): void;
}

/** What the router found in the request line. */
export interface RouteMatch {
  url: URL;
  /** The channel from the path; null when the route takes it from the query (validate it there). */
  channel: string | null;
}

export type ServerTransportFactory = (ctx: ServerContext) => MountedTransport;
