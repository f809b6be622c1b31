import type { ServerResponse } from "node:http";
import type { EffectiveServerSettings } from "../../src/shared/server-launch.js";
import type { ServerContext } from "../context.js";
import { sendJson } from "../http.js";

/**
 * `GET /healthz`: liveness, which process answers (tests and `serve` read the
 * pid), and the settings it runs with, defaults resolved (a run records them
 * in its result).
 */
export function handleHealth(ctx: ServerContext, res: ServerResponse): void {
  sendJson(res, 200, {
    status: "ok",
    instance: ctx.settings.instanceId,
    pid: process.pid,
    broker: ctx.broker.kind,
    settings: effectiveSettings(ctx),
  });
}

function effectiveSettings(ctx: ServerContext): EffectiveServerSettings {
  const { settings } = ctx;
  return {
    instanceId: settings.instanceId,
    broker: ctx.broker.kind,
    heartbeatIntervalMs: settings.heartbeatIntervalMs,
    presenceTtlMs: settings.presenceTtlMs,
    history: settings.history && { ...settings.history },
    maxBodyBytes: settings.maxBodyBytes,
    deliveryDelayMs: settings.deliveryDelayMs,
    routing: settings.routing,
    fanout: settings.fanout,
    presenceEvents: settings.presenceEvents,
    presenceBatchMs: settings.presenceBatchMs,
  };
}

/** `GET /metrics`: Prometheus text; the generator reads CPU and RSS from it for server cost. */
export function handleMetrics(ctx: ServerContext, res: ServerResponse): void {
  const connections = new Map<string, number>();
  for (const [transport, open] of ctx.connections) connections.set(transport, open.size);
  const body = Buffer.from(ctx.metrics.render(connections, ctx.broker.operationCounts()));
  res.writeHead(200, {
    "content-type": "text/plain; version=0.0.4; charset=utf-8",
    "content-length": body.length,
    "cache-control": "no-store",
  });
  res.end(body);
}
