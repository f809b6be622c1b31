import type { ServerResponse } from "node:http";
import { PROTOCOLS, type ProtocolName } from "../../src/shared/protocol.js";
import { renderAdmissionMetrics } from "../admission.js";
import type { ServerContext } from "../context.js";
import { sendJson } from "../http.js";

/**
 * `GET /healthz`: which process answers (tests and `serve` read the pid), and
 * whether it can serve: 503 with `"status": "degraded"` while its broker
 * cannot (Redis away or frozen), so a load balancer sends clients elsewhere.
 */
export function handleHealth(ctx: ServerContext, res: ServerResponse): void {
  const brokerHealth = ctx.broker.health();
  const ok = brokerHealth.state === "ok";
  sendJson(res, ok ? 200 : 503, {
    status: ok ? "ok" : "degraded",
    instance: ctx.settings.instanceId,
    pid: process.pid,
    broker: ctx.broker.kind,
    brokerHealth,
  });
}

/** `GET /metrics`: Prometheus text; the generator reads CPU and RSS from it for server cost. */
export function handleMetrics(ctx: ServerContext, res: ServerResponse): void {
  const connections = {} as Record<ProtocolName, number>;
  for (const transport of PROTOCOLS) connections[transport] = ctx.connections[transport].size;
  const body = Buffer.from(ctx.metrics.render(connections) + renderAdmissionMetrics(ctx.admission));
  res.writeHead(200, {
    "content-type": "text/plain; version=0.0.4; charset=utf-8",
    "content-length": body.length,
    "cache-control": "no-store",
  });
  res.end(body);
}
