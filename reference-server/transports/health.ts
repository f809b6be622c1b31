import type { ServerResponse } from "node:http";
import type { ServerContext } from "../context.js";
import { sendJson } from "../http.js";

/** `GET /healthz`: liveness, and which process answers (tests and `serve` read the pid). */
export function handleHealth(ctx: ServerContext, res: ServerResponse): void {
  sendJson(res, 200, {
    status: "ok",
    instance: ctx.settings.instanceId,
    pid: process.pid,
    broker: ctx.broker.kind,
  });
}

/** `GET /metrics`: Prometheus text; the generator reads CPU and RSS from it for server cost. */
export function handleMetrics(ctx: ServerContext, res: ServerResponse): void {
  const connections = new Map<string, number>();
  for (const [transport, open] of ctx.connections) connections.set(transport, open.size);
  const body = Buffer.from(ctx.metrics.render(connections));
  res.writeHead(200, {
    "content-type": "text/plain; version=0.0.4; charset=utf-8",
    "content-length": body.length,
    "cache-control": "no-store",
  });
  res.end(body);
}
