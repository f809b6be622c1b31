// The reference server's HTTP/1.1 and HTTP/2 servers: each transport's
// server half mounted on its route, upgrades handed to the WebSocket
// endpoint, and every request routed: the publish route, the transports,
// then the server's own routes (routes.ts). Failed requests are answered by
// answer-errors.ts.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import {
  createServer as createH2Server,
  type Http2Server,
  type IncomingHttpHeaders,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from "node:http2";
import { createServer as createHttpsServer } from "node:https";
import type { Duplex } from "node:stream";
import { ROUTES } from "../src/shared/protocol.js";
import { type TransportDescriptor, transport } from "../src/shared/transports.js";
import { originRefusal, requireToken } from "./access.js";
import { answerError, answerStreamError } from "./answer-errors.js";
import type { ServerContext } from "./context.js";
import { guardH2Sessions, h2ServerOptions } from "./h2-sessions.js";
import { serveH2cOnSamePort } from "./h2c.js";
import { HttpError, refuseUpgrade } from "./http.js";
import { answerClientError, httpServerOptions, refuseExpectation } from "./http-limits.js";
import { oneAnswerAtATime } from "./pipelining.js";
import { allow, methodNotAllowed, serveOwnRoute } from "./routes.js";
import { SERVER_ALPN, type ServerTlsOptions, serveH2OverAlpn } from "./tls.js";
import { trackPollSocket } from "./transports/admin.js";
import { handlePublish } from "./transports/publish.js";
import type { MountedTransport, RouteMatch, ServerTransportFactory } from "./transports/types.js";

/** The servers with every transport mounted, plus what shutdown needs. */
export interface MountedServer {
  /** Listens; HTTP/2 connections (prior knowledge) on its port are handed to `h2`. */
  server: Server;
  h2: Http2Server;
  /** Open HTTP/2 sessions: the HTTP/1.1 server's connection tracking does not see them. */
  h2Sessions: ReadonlySet<ServerHttp2Session>;
  /** Every mounted transport, so shutdown can stop each taking new connections. */
  transports: MountedTransport[];
}

/** One mounted transport and where its route is. */
interface TransportRoute {
  descriptor: TransportDescriptor;
  mounted: MountedTransport;
  /** Exact path (channel in the query), or the prefix before `{channel}`. */
  path: string;
}

/**
 * Mounts each transport's server half and builds the servers that route to
 * them. With `tls` the port speaks HTTPS, and HTTP/2 by ALPN instead of h2c.
 */
export function createReferenceHttpServer(
  ctx: ServerContext,
  factories: ReadonlyMap<string, ServerTransportFactory>,
  tls?: ServerTlsOptions,
): MountedServer {
  const routes: TransportRoute[] = [...factories].map(([name, mount]) => {
    const descriptor = transport(name);
    const { path, channelIn } = descriptor.route;
    return {
      descriptor,
      mounted: mount(ctx),
      path: channelIn === "path" ? path.slice(0, path.indexOf("{channel}")) : path,
    };
  });
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    route(ctx, routes, req, res).catch((error: unknown) => answerError(req, res, error));
  };
  // An HTTPS server is an HTTP server on TLS sockets: the same requests, upgrades and timeouts.
  const server =
    tls === undefined
      ? createServer(httpServerOptions(ctx.settings), oneAnswerAtATime(handle))
      : (createHttpsServer(
          { ...httpServerOptions(ctx.settings), ...tls, ALPNProtocols: SERVER_ALPN },
          oneAnswerAtATime(handle),
        ) as unknown as Server);
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Node took its own error listener off the upgraded socket: a reset while
    // it is refused or handed to ws would otherwise be an unhandled 'error'.
    socket.on("error", destroySocket);
    // A browser opens a WebSocket from any page: the Origin header is the only guard.
    const refused = originRefusal(req.headers, ctx.settings);
    if (refused) {
      refuseUpgrade(socket, refused);
      return;
    }
    const url = parseUrl(req.url);
    const found = match(routes, "upgrade", url);
    if (found?.route.mounted.upgrade === undefined) {
      refuseUpgrade(socket, new HttpError(404, `no WebSocket endpoint at ${url.pathname}`));
      return;
    }
    found.route.mounted.upgrade(req, socket, head, found.match);
  });
  // Garbage instead of HTTP, or a request too slow to arrive: a JSON error, never a crash.
  server.on("clientError", (error, socket) => answerClientError(error, socket, ctx.settings));
  server.on("checkExpectation", refuseExpectation);

  const h2 = createH2Server(h2ServerOptions(ctx.settings.h2));
  h2.on("stream", (stream, headers) => {
    routeStream(routes, stream, headers).catch((error: unknown) =>
      answerStreamError(stream, error),
    );
  });
  const h2Sessions = new Set<ServerHttp2Session>();
  guardH2Sessions(h2, ctx.settings.h2, h2Sessions);
  if (tls === undefined) serveH2cOnSamePort(server, h2, ctx.settings.requestTimeoutMs);
  else serveH2OverAlpn(server as never, h2, (alpn) => ctx.metrics.tlsConnections[alpn]++);
  return { server, h2, h2Sessions, transports: routes.map((r) => r.mounted) };
}

async function route(
  ctx: ServerContext,
  routes: TransportRoute[],
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const url = parseUrl(req.url);
  const path = url.pathname;
  const method = req.method ?? "GET";
  const refused = originRefusal(req.headers, ctx.settings);
  if (refused) throw refused;

  if (path === ROUTES.publish && method === "POST") {
    requireToken(req.headers, ctx.settings);
    return handlePublish(ctx, req, res, url.searchParams);
  }
  const found = match(routes, "http1", url);
  if (found) {
    // The publish route shares its path with short polling.
    allow(method, path, path === ROUTES.publish ? "GET, POST" : "GET");
    const { route: transportRoute, match: routeMatch } = found;
    if (ctx.settings.admin && transportRoute.descriptor.delivery === "poll") {
      trackPollSocket(ctx, req.socket);
    }
    return transportRoute.mounted.request?.(req, res, routeMatch);
  }
  if (path === ROUTES.publish) throw methodNotAllowed(method, path, "POST");
  if (match(routes, "upgrade", url)) {
    throw new HttpError(
      426,
      `${path} is a WebSocket endpoint; send an Upgrade: websocket request`,
      {
        upgrade: "websocket",
      },
    );
  }
  return serveOwnRoute(ctx, req, res, url, method);
}

async function routeStream(
  routes: TransportRoute[],
  stream: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
): Promise<void> {
  const url = parseUrl(headers[":path"]);
  const method = headers[":method"] ?? "GET";
  const found = match(routes, "h2c", url);
  if (!found?.route.mounted.stream) {
    throw new HttpError(404, `no HTTP/2 route for ${method} ${url.pathname}`);
  }
  allow(method, url.pathname, "GET");
  await found.route.mounted.stream(stream, headers, found.match);
}

/** The transport whose route (and way in) matches `url`, with the channel from its path. */
function match(
  routes: TransportRoute[],
  over: TransportDescriptor["route"]["over"],
  url: URL,
): { route: TransportRoute; match: RouteMatch } | null {
  const path = url.pathname;
  for (const candidate of routes) {
    if (candidate.descriptor.route.over !== over) continue;
    if (candidate.descriptor.route.channelIn === "query") {
      if (path === candidate.path) return { route: candidate, match: { url, channel: null } };
    } else if (path.startsWith(candidate.path)) {
      const channel = path.slice(candidate.path.length);
      return { route: candidate, match: { url, channel } };
    }
  }
  return null;
}

function destroySocket(this: Duplex): void {
  this.destroy();
}

function parseUrl(raw: string | undefined): URL {
  try {
    return new URL(raw ?? "/", "http://localhost");
  } catch {
    return new URL("http://localhost/");
  }
}
