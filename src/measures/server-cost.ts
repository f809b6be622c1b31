import type { ProtocolResult } from "../metrics/types.js";
import type { EdgeSamples, ServerSample } from "../run-model/server-sample.js";
import type { EffectiveServerSettings } from "../shared/server-launch.js";
import type { Measure, MeasureRow } from "./measure.js";

/**
 * What the servers under test cost, and the proxy rtbench started in front
 * of them (`server.proxy`) apart from them: CPU per 1,000 deliveries over
 * the window and resident memory per connected client, from their process
 * groups' samples (load/servers/). Deliveries are those of the span the CPU
 * was read over (an interrupted run's in-flight ones too).
 */
export interface ServerCostResult {
  /** The proxy's own cost; absent without a proxy. */
  proxy?: {
    kind: "nginx" | "haproxy";
    cpuSecondsPer1kDeliveries: number | null;
    rssBytesPerConnection: number | null;
  };
  server: {
    cpuSecondsPer1kDeliveries: number | null;
    rssBytesPerConnection: number | null;
    /**
     * What instance 0 said it runs with (`/healthz`), defaults resolved; null
     * for a `target`. Absent in results written before rtbench recorded it.
     */
    settings?: EffectiveServerSettings | null;
  };
}

declare module "../metrics/types.js" {
  interface MeasureResults extends ServerCostResult {}
}

/** A kill or restart fault started a server process again, and its CPU and memory counters with it. */
export function restartedServer(faults: readonly { action: string }[]): boolean {
  return faults.some((f) => f.action === "kill" || f.action === "restart");
}

/**
 * Server memory per connection: RSS growth from before the clients to the end
 * of the window, divided by connections. Below a few hundred connections the
 * allocator's own ups and downs (megabytes) swamp what connections cost, and
 * a shrinking RSS says nothing about them: then it is not reported.
 */
const MIN_CONNECTIONS_FOR_RSS = 500;

function rssPerConnection(
  before: ServerSample | null,
  after: ServerSample | null,
  connections: number,
): number | null {
  if (!before || !after || connections < MIN_CONNECTIONS_FOR_RSS) return null;
  const growth = after.rssBytes - before.rssBytes;
  return growth > 0 ? growth / connections : null;
}

/** CPU per delivery and memory per connection; null where it cannot be known (`restarted`: counters started again). */
function cost(samples: EdgeSamples, restarted: boolean, delivered: number, connected: number) {
  const start = restarted ? null : samples.windowStart;
  const end = restarted ? null : samples.windowEnd;
  return {
    cpuSecondsPer1kDeliveries:
      start && end && delivered > 0
        ? (end.cpuSeconds - start.cpuSeconds) / (delivered / 1000)
        : null,
    rssBytesPerConnection: rssPerConnection(samples.baseline, end, connected),
  };
}

const COST_PROPERTIES = {
  cpuSecondsPer1kDeliveries: { type: ["number", "null"] },
  rssBytesPerConnection: { type: ["number", "null"] },
};

const kb = (bytes: number | null | undefined) =>
  bytes === null || bytes === undefined ? null : bytes / 1024;
const proxied = (p: ProtocolResult) => p.proxy !== undefined;

const ROWS: MeasureRow[] = [
  {
    label: "proxy CPU s / 1k deliveries",
    value: (p) => p.proxy?.cpuSecondsPer1kDeliveries ?? null,
    when: proxied,
  },
  {
    label: "proxy RSS / connection KB",
    value: (p) => kb(p.proxy?.rssBytesPerConnection),
    when: proxied,
  },
  { label: "server CPU s / 1k deliveries", value: (p) => p.server.cpuSecondsPer1kDeliveries },
  { label: "server RSS / connection KB", value: (p) => kb(p.server.rssBytesPerConnection) },
];

export const serverCost: Measure<ServerCostResult> = {
  name: "server-cost",
  description:
    "the servers' (and the proxy's) CPU per 1,000 deliveries and resident memory per connection",
  result: ({ servers, faults, delivered, connected }) => ({
    ...(servers.proxy
      ? {
          proxy: {
            kind: servers.proxy.kind,
            // Restarts of instances do not touch the proxy's counters.
            ...cost(servers.proxy.samples, false, delivered, connected),
          },
        }
      : {}),
    server: {
      ...cost(servers.samples, restartedServer(faults), delivered, connected),
      settings: servers.settings,
    },
  }),
  metrics: [
    {
      path: "server.cpuSecondsPer1kDeliveries",
      unit: "cpu-s",
      kind: "rate",
      better: "lower",
      description: "server CPU seconds per 1,000 deliveries",
    },
    {
      path: "proxy.cpuSecondsPer1kDeliveries",
      unit: "cpu-s",
      kind: "rate",
      better: "lower",
      description: "proxy (server.proxy) CPU seconds per 1,000 deliveries",
    },
    {
      path: "proxy.rssBytesPerConnection",
      unit: "bytes",
      kind: "rate",
      better: "lower",
      description: "proxy (server.proxy) resident memory per connected client",
    },
    {
      path: "server.rssBytesPerConnection",
      unit: "bytes",
      kind: "rate",
      better: "lower",
      description: "server resident memory per connected client",
    },
  ],
  schema: {
    proxy: {
      description:
        "The proxy rtbench started in front of the reference instances (server.proxy): its own CPU per 1,000 deliveries and resident memory per connection, from /proc for its process group. Absent without a proxy.",
      type: "object",
      required: ["kind", "cpuSecondsPer1kDeliveries", "rssBytesPerConnection"],
      properties: { kind: { type: "string", enum: ["nginx", "haproxy"] }, ...COST_PROPERTIES },
    },
    server: {
      type: "object",
      required: ["cpuSecondsPer1kDeliveries", "rssBytesPerConnection"],
      properties: {
        ...COST_PROPERTIES,
        settings: {
          description:
            "What the reference server ran with, defaults resolved, as instance 0 answered GET /healthz once the servers were up; null for a target (not rtbench's server). Absent in results written before it was recorded.",
          oneOf: [{ $ref: "#/definitions/serverSettings" }, { type: "null" }],
        },
      },
    },
  },
  rows: { after: "empty polls %", rows: ROWS },
};
