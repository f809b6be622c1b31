import type { ServerResponse } from "node:http";
import type { EffectiveServerSettings } from "../../src/shared/server-launch.js";
import { renderAdmissionMetrics } from "../admission.js";
import type { ServerContext } from "../context.js";
import { sendJson } from "../http.js";

/**
 * `GET /healthz`: which process answers (tests and `serve` read the pid),
 * the settings it runs with, defaults resolved (a run records them in its
 * result), and whether it can serve: 503 with `"status": "degraded"` while
 * its broker cannot (Redis away or frozen), so a load balancer sends clients
 * elsewhere.
 */
export function handleHealth(ctx: ServerContext, res: ServerResponse): void {
  const brokerHealth = ctx.broker.health();
  const ok = brokerHealth.state === "ok";
  sendJson(res, ok ? 200 : 503, {
    status: ok ? "ok" : "degraded",
    instance: ctx.settings.instanceId,
    pid: process.pid,
    broker: ctx.broker.kind,
    settings: effectiveSettings(ctx),
    brokerHealth,
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
    limits: {
      maxBodyDepth: settings.maxBodyDepth,
      maxPollBatch: settings.maxPollBatch,
      maxPollBytes: settings.maxPollBytes,
      writeTimeoutMs: settings.writeTimeoutMs,
      requestTimeoutMs: settings.requestTimeoutMs,
      maxConnections: settings.maxConnections,
    },
    routing: settings.routing,
    fanout: settings.fanout,
    presenceEvents: settings.presenceEvents,
    presenceBatchMs: settings.presenceBatchMs,
    h2: { ...settings.h2 },
  };
}

/** `GET /metrics`: Prometheus text; the generator reads CPU and RSS from it for server cost. */
export function handleMetrics(ctx: ServerContext, res: ServerResponse): void {
  const connections = new Map<string, number>();
  for (const [transport, open] of ctx.connections) connections.set(transport, open.size);
  const body = Buffer.from(
    ctx.metrics.render(connections, ctx.broker.operationCounts()) +
      renderAdmissionMetrics(ctx.admission),
  );
  res.writeHead(200, {
    "content-type": "text/plain; version=0.0.4; charset=utf-8",
    "content-length": body.length,
    "cache-control": "no-store",
  });
  res.end(body);
}
