import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import type { ServerContext } from "./context.js";
import { asHttpError, discardRequest, HttpError, parseChannel, sendError } from "./http.js";
import { answerClientError, httpServerOptions, refuseExpectation } from "./http-limits.js";
import { handleDrop, handleHeartbeatTimeouts, trackPollSocket } from "./transports/admin.js";
import { handleHealth, handleMetrics } from "./transports/health.js";
import { handleLongPoll } from "./transports/long-poll.js";
import { handlePresence } from "./transports/presence.js";
import { handlePublish } from "./transports/publish.js";
import { handleShortPoll } from "./transports/short-poll.js";
import { handleSse } from "./transports/sse.js";
import { refuseUpgrade, WEBSOCKET_PREFIX, WebSocketEndpoint } from "./transports/websocket.js";

const STREAM_PREFIX = "/api/stream/";
const PRESENCE_PREFIX = "/api/presence/";

/** The HTTP server with every transport mounted, plus what shutdown needs. */
export interface MountedServer {
  server: Server;
  websocket: WebSocketEndpoint;
}

export function createReferenceHttpServer(ctx: ServerContext): MountedServer {
  const websocket = new WebSocketEndpoint(ctx);
  const server = createServer(httpServerOptions(ctx.settings), (req, res) => {
    route(ctx, req, res).catch((error: unknown) => answerError(req, res, error));
  });
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = parseUrl(req);
    if (!url.pathname.startsWith(WEBSOCKET_PREFIX)) {
      refuseUpgrade(socket, new HttpError(404, `no WebSocket endpoint at ${url.pathname}`));
      return;
    }
    websocket.handleUpgrade(req, socket, head, url);
  });
  // Garbage instead of HTTP, or a request too slow to arrive: a JSON error, never a crash.
  server.on("clientError", (error, socket) => answerClientError(error, socket, ctx.settings));
  server.on("checkExpectation", refuseExpectation);
  return { server, websocket };
}

async function route(ctx: ServerContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = parseUrl(req);
  const path = url.pathname;
  const method = req.method ?? "GET";

  if (path === "/api/messages") {
    if (method === "POST") return handlePublish(ctx, req, res, url.searchParams);
    if (method === "GET") {
      if (ctx.settings.admin) trackPollSocket(ctx, req.socket);
      return handleShortPoll(ctx, res, url.searchParams);
    }
    throw methodNotAllowed(method, path, "GET, POST");
  }
  if (path === "/api/messages/poll") {
    allow(method, path, "GET");
    if (ctx.settings.admin) trackPollSocket(ctx, req.socket);
    return handleLongPoll(ctx, res, url.searchParams);
  }
  if (path.startsWith(STREAM_PREFIX)) {
    allow(method, path, "GET");
    const channel = parseChannel(path.slice(STREAM_PREFIX.length), "URL path");
    return handleSse(ctx, req, res, channel, url.searchParams);
  }
  if (path.startsWith(PRESENCE_PREFIX)) {
    allow(method, path, "GET");
    const channel = parseChannel(path.slice(PRESENCE_PREFIX.length), "URL path");
    return handlePresence(ctx, res, channel, url.searchParams);
  }
  if (path.startsWith(WEBSOCKET_PREFIX)) {
    throw new HttpError(
      426,
      `${path} is a WebSocket endpoint; send an Upgrade: websocket request`,
      {
        upgrade: "websocket",
      },
    );
  }
  if (path === "/healthz") {
    allow(method, path, "GET");
    return handleHealth(ctx, res);
  }
  if (path === "/metrics") {
    allow(method, path, "GET");
    return handleMetrics(ctx, res);
  }
  // Without --admin the route does not exist: a 404 like any unknown path.
  if (path === "/admin/drop" && ctx.settings.admin) {
    allow(method, path, "POST");
    return handleDrop(ctx, req, res);
  }
  if (path === "/admin/heartbeat-timeouts" && ctx.settings.admin) {
    allow(method, path, "GET");
    return handleHeartbeatTimeouts(ctx, res);
  }
  throw new HttpError(404, `no route for ${method} ${path}`);
}

function allow(method: string, path: string, allowed: string): void {
  if (method !== allowed) throw methodNotAllowed(method, path, allowed);
}

function methodNotAllowed(method: string, path: string, allowed: string): HttpError {
  return new HttpError(405, `${method} is not allowed on ${path}; allowed: ${allowed}`, {
    allow: allowed,
  });
}

function parseUrl(req: IncomingMessage): URL {
  try {
    return new URL(req.url ?? "/", "http://localhost");
  } catch {
    return new URL("http://localhost/");
  }
}

function answerError(req: IncomingMessage, res: ServerResponse, error: unknown): void {
  const known = asHttpError(error);
  if (known) {
    sendError(res, known);
    // The client may still be sending the body we refused; throw it away, don't store it.
    if (known.status === 413) discardRequest(req);
    return;
  }
  // The client went away or was cut off mid-request: nobody to answer, nothing to report.
  if (req.destroyed && !res.headersSent) return;
  process.stderr.write(`reference server: ${req.method} ${req.url}: ${String(error)}\n`);
  sendError(
    res,
    new HttpError(500, `internal error: ${(error as Error)?.message ?? String(error)}`),
  );
}
