// The reference server's own routes, beside the transports' (presence,
// members and unread counters, health, metrics, the admin routes), as rows:
// path, method, whether the server's token is needed and when the route
// exists at all. server.ts tries the transports first, then these; a path
// no row matches is a 404.
import type { IncomingMessage, ServerResponse } from "node:http";
import { ROUTES } from "../src/shared/protocol.js";
import { requireToken } from "./access.js";
import type { ServerContext } from "./context.js";
import { HttpError, parseChannel } from "./http.js";
import { handleDrop, handleHeartbeatTimeouts, handleWriteTimeouts } from "./transports/admin.js";
import { handleHealth, handleMetrics } from "./transports/health.js";
import { handleAddMembers, handleUnread } from "./transports/members.js";
import { handlePresence } from "./transports/presence.js";

interface OwnRoute {
  /** An exact path, or a route template whose `{channel}` is the rest of the path. */
  readonly path: string;
  readonly method: "GET" | "POST" | "PUT";
  /** Needs the server's token (as a publish does). */
  readonly token?: true;
  /** Exists only when this holds; otherwise a 404 like any unknown path. */
  readonly when?: (ctx: ServerContext) => boolean;
  /** `channel` is the path's channel, for a template; null for an exact path. */
  serve(
    ctx: ServerContext,
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    channel: string | null,
  ): void | Promise<void>;
}

// Members and unread counters exist for tiered fan-out only.
const tiered = (ctx: ServerContext) => ctx.settings.fanout === "tiered";
const admin = (ctx: ServerContext) => ctx.settings.admin;

const OWN_ROUTES: readonly OwnRoute[] = [
  {
    path: ROUTES.presence,
    method: "GET",
    serve: (ctx, _req, res, url, channel) =>
      handlePresence(ctx, res, channel as string, url.searchParams),
  },
  {
    path: ROUTES.members,
    method: "PUT",
    token: true,
    when: tiered,
    serve: (ctx, req, res, _url, channel) => handleAddMembers(ctx, req, res, channel as string),
  },
  {
    path: ROUTES.unread,
    method: "GET",
    when: tiered,
    serve: (ctx, _req, res, url, channel) =>
      handleUnread(ctx, res, channel as string, url.searchParams),
  },
  { path: ROUTES.health, method: "GET", serve: (ctx, _req, res) => handleHealth(ctx, res) },
  { path: ROUTES.metrics, method: "GET", serve: (ctx, _req, res) => handleMetrics(ctx, res) },
  {
    path: "/admin/drop",
    method: "POST",
    token: true,
    when: admin,
    serve: (ctx, req, res) => handleDrop(ctx, req, res),
  },
  {
    path: "/admin/heartbeat-timeouts",
    method: "GET",
    token: true,
    when: admin,
    serve: (ctx, _req, res) => handleHeartbeatTimeouts(ctx, res),
  },
  {
    path: "/admin/write-timeouts",
    method: "GET",
    token: true,
    when: admin,
    serve: (ctx, _req, res) => handleWriteTimeouts(ctx, res),
  },
];

/** The rows with each one's path before `{channel}` (null for an exact path), worked out once. */
const MATCHED_ROUTES = OWN_ROUTES.map((row) => {
  const at = row.path.indexOf("{channel}");
  return { ...row, prefix: at < 0 ? null : row.path.slice(0, at) };
});

/** Serves the request on the row its path names: 405 for another method, 404 when none. */
export function serveOwnRoute(
  ctx: ServerContext,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  method: string,
): void | Promise<void> {
  const path = url.pathname;
  for (const row of MATCHED_ROUTES) {
    const prefix = row.prefix;
    if (prefix === null ? path !== row.path : !path.startsWith(prefix)) continue;
    if (row.when && !row.when(ctx)) continue;
    allow(method, path, row.method);
    if (row.token) requireToken(req.headers, ctx.settings);
    const channel = prefix === null ? null : parseChannel(path.slice(prefix.length), "URL path");
    return row.serve(ctx, req, res, url, channel);
  }
  throw new HttpError(404, `no route for ${method} ${path}`);
}

export function allow(method: string, path: string, allowed: string): void {
  if (!allowed.split(", ").includes(method)) throw methodNotAllowed(method, path, allowed);
}

export function methodNotAllowed(method: string, path: string, allowed: string): HttpError {
  return new HttpError(405, `${method} is not allowed on ${path}; allowed: ${allowed}`, {
    allow: allowed,
  });
}
