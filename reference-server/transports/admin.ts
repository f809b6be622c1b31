import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { transport } from "../../src/shared/transports.js";
import type { ServerContext } from "../context.js";
import { HttpError, readJsonBody, sendJson } from "../http.js";

/** The admin request body is one small JSON object. */
const MAX_ADMIN_BODY_BYTES = 1024;
const MAX_ADMIN_BODY_DEPTH = 2;

/**
 * `POST /admin/drop` `{"fraction": F}`: closes F (rounded up, picked at
 * random; default 1) of this instance's subscriber connections at once, as a
 * load balancer reset would. WebSockets are terminated without a close
 * handshake, SSE streams and held long polls are destroyed, and keep-alive
 * sockets that carried polls are destroyed between polls. Answers
 * `{"dropped": n}`. Mounted only when the server runs with `--admin`.
 */
export async function handleDrop(
  ctx: ServerContext,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const fraction = parseFraction(
    await readJsonBody(req, MAX_ADMIN_BODY_BYTES, MAX_ADMIN_BODY_DEPTH),
  );
  const candidates = dropCandidates(ctx, req.socket);
  const count = Math.ceil(fraction * candidates.length);
  pickRandom(candidates, count);
  for (let i = 0; i < count; i++) (candidates[i] as () => void)();
  sendJson(res, 200, { dropped: count });
}

/**
 * `GET /admin/heartbeat-timeouts`: when this instance dropped connections for
 * missing heartbeats, as `{"monotonicMs": [...]}` (process.hrtime in ms, a
 * clock shared by every process on the host), so a load generator on the
 * same host can time how long the server took to notice zombie clients.
 */
export function handleHeartbeatTimeouts(ctx: ServerContext, res: ServerResponse): void {
  sendJson(res, 200, { monotonicMs: ctx.metrics.heartbeatTimeoutLog });
}

/**
 * `GET /admin/write-timeouts`: when this instance cut a stream whose client
 * took nothing of what was written within the write timeout (a slow
 * consumer), as `{"monotonicMs": [...]}`. The client itself cannot tell: the
 * kernel still sends what it holds before the close, at the client's pace.
 */
export function handleWriteTimeouts(ctx: ServerContext, res: ServerResponse): void {
  sendJson(res, 200, { monotonicMs: ctx.metrics.writeTimeoutLog });
}

/**
 * Remembers a socket that carried a poll until it closes, so that a drop
 * reaches pollers between two requests too. Cheap on the hot path: one Set
 * lookup per poll request, one listener per socket.
 */
export function trackPollSocket(ctx: ServerContext, socket: Socket): void {
  if (ctx.pollSockets.has(socket) || socket.destroyed) return;
  ctx.pollSockets.add(socket);
  socket.once("close", () => ctx.pollSockets.delete(socket));
}

function parseFraction(payload: unknown): number {
  if (typeof payload !== "object" || payload === null || Array.isArray(payload)) {
    throw new HttpError(400, 'request body must be a JSON object {"fraction": F}');
  }
  const { fraction = 1 } = payload as { fraction?: unknown };
  if (typeof fraction !== "number" || !(fraction > 0 && fraction <= 1)) {
    throw new HttpError(
      400,
      `"fraction" must be a number above 0 and at most 1, found ${JSON.stringify(fraction)}`,
    );
  }
  return fraction;
}

/**
 * One closer per subscriber connection. A held long poll is reached through
 * its socket (in `pollSockets`), so it is counted once. The admin request's
 * own socket is left alone so that it gets its answer.
 */
function dropCandidates(ctx: ServerContext, own: Socket): (() => void)[] {
  const closers: (() => void)[] = [];
  for (const [name, open] of ctx.connections) {
    // Poll connections are reached through their sockets below.
    if (transport(name).delivery !== "stream") continue;
    for (const connection of open) closers.push(() => connection.drop());
  }
  for (const socket of ctx.pollSockets) {
    if (socket !== own) closers.push(() => socket.destroy());
  }
  return closers;
}

/** Moves `count` uniformly picked items to the front (a partial Fisher-Yates shuffle). */
function pickRandom<T>(items: T[], count: number): void {
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(Math.random() * (items.length - i));
    const picked = items[j] as T;
    items[j] = items[i] as T;
    items[i] = picked;
  }
}
