import { transport } from "../shared/transports.js";
import type { Measure } from "./measure.js";

/**
 * What the subscribers' traffic costs per delivery: wire bytes (both
 * directions, headers included) and HTTP requests, from the shards' socket
 * counters over the span the traffic was counted in (ResultContext.traffic),
 * divided by the deliveries of that same span; and, for the polling
 * transports, the share of poll answers that carried no message.
 */
export interface TrafficCostResult {
  /** null: no delivery. */
  bytesPerDelivery: number | null;
  /** HTTP requests the subscribers sent in the measured window (WebSocket: upgrades). */
  requests: number;
  /**
   * TCP connections the subscribers held open when the measured window
   * ended: one per client for most transports, one per keep-alive poller,
   * one per `streamsPerConnection` clients for SSE over HTTP/2. Absent in
   * results written before rtbench counted them.
   */
  tcpConnections?: number;
  /** null: no delivery. */
  requestsPerDelivery: number | null;
  /** null: a streaming transport (nothing polls), or no request. */
  emptyPollShare: number | null;
}

declare module "../metrics/types.js" {
  interface MeasureResults extends TrafficCostResult {}
}

export const trafficCost: Measure<TrafficCostResult> = {
  name: "traffic-cost",
  description:
    "wire bytes and HTTP requests per delivery, TCP connections held open, and the share of empty polls",
  result: ({ traffic, delivered, protocol }) => ({
    bytesPerDelivery: delivered > 0 ? (traffic.bytesIn + traffic.bytesOut) / delivered : null,
    requests: traffic.requests,
    tcpConnections: traffic.socketsOpen,
    requestsPerDelivery: delivered > 0 ? traffic.requests / delivered : null,
    emptyPollShare:
      transport(protocol).delivery === "poll" && traffic.requests > 0
        ? traffic.emptyPolls / traffic.requests
        : null,
  }),
  metrics: [
    {
      path: "bytesPerDelivery",
      unit: "bytes",
      kind: "rate",
      better: "lower",
      description: "wire bytes (both directions) per delivery",
    },
    {
      path: "requests",
      unit: "count",
      kind: "count",
      better: null,
      description: "HTTP requests sent by subscribers in the window",
    },
    {
      path: "tcpConnections",
      unit: "count",
      kind: "count",
      better: "lower",
      description: "TCP connections the subscribers held open at the end of the window",
    },
    {
      path: "requestsPerDelivery",
      unit: "ratio",
      kind: "rate",
      better: "lower",
      description: "HTTP requests per delivered message",
    },
    {
      path: "emptyPollShare",
      unit: "ratio",
      kind: "rate",
      better: "lower",
      description: "share of poll responses with no message",
    },
  ],
  schema: {
    bytesPerDelivery: { type: ["number", "null"] },
    requests: {
      type: "integer",
      minimum: 0,
      description: "HTTP requests the subscribers sent in the measured window",
    },
    tcpConnections: {
      type: "integer",
      minimum: 0,
      description:
        "TCP connections the subscribers held open when the measured window ended (SSE over HTTP/2 shares one per streamsPerConnection clients)",
    },
    requestsPerDelivery: { type: ["number", "null"] },
    emptyPollShare: { type: ["number", "null"], minimum: 0, maximum: 1 },
  },
  // After the last of the delivery books' rows (shown only when a server sent such frames).
  rows: {
    after: "unrecognised frames",
    rows: [
      { label: "bytes per delivery", value: (p) => p.bytesPerDelivery },
      { label: "requests per delivery", value: (p) => p.requestsPerDelivery },
      // Results written before it was counted lack it: n/a, as before.
      { label: "TCP connections", value: (p) => p.tcpConnections ?? null, format: "count" },
      {
        label: "empty polls %",
        value: (p) => (p.emptyPollShare === null ? null : p.emptyPollShare * 100),
      },
    ],
  },
};
