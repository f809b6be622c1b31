import type { HistogramSummary, ProtocolResult } from "../metrics/types.js";
import type { Measure, MeasureRow } from "./measure.js";
import { histogramMetrics, histogramStat } from "./metric-info.js";

/**
 * The split of `connect` per TCP connection the subscribers open
 * (reconnects too): TCP (SYN -> established), the TLS handshake (no samples
 * over plain HTTP) and HTTP (handshake done -> the server's first byte: the
 * upgrade answer or the response head; not timed for sse-h2, whose session
 * reads the socket itself), and how many TLS handshakes were full or
 * resumed. The clients time the phases (clients/tls.ts).
 */
export interface TlsConnectResult {
  /** Absent in results written before they were measured, as are the other two. */
  connectTcp?: HistogramSummary;
  tlsHandshake?: HistogramSummary;
  connectHttp?: HistogramSummary;
  tlsFullHandshakes: number;
  tlsResumedHandshakes: number;
}

declare module "../metrics/types.js" {
  interface MeasureResults extends TlsConnectResult {}
}

const FULL =
  "TLS handshakes of the subscribers' connections with a certificate check (no session to resume)";
const RESUMED =
  "TLS handshakes of the subscribers' connections that resumed an earlier session (target.tls.sessionResumption)";

/** The split is shown for runs over TLS, where the handshake is the news. */
const usedTls = (r: ProtocolResult) => (r.tlsHandshake?.count ?? 0) > 0;
// "-" for an empty one too, as for none.
const p99 = (h: HistogramSummary | undefined) => histogramStat(h, "p99") ?? undefined;
const phaseRow = (label: string, field: "connectTcp" | "tlsHandshake" | "connectHttp") =>
  ({ label, value: (r) => p99(r[field]), when: usedTls }) satisfies MeasureRow;

export const tlsConnect: Measure<TlsConnectResult> = {
  name: "tls-connect",
  description: "connect split into TCP, TLS handshake and HTTP, and full or resumed TLS handshakes",
  shard: {
    counts: ["full", "resumed"],
    timings: ["tcp", "tls", "http"],
    handlers: (tally) => ({
      tcp: (ms) => tally.time("tcp", ms),
      tls: (ms, resumed) => {
        tally.time("tls", ms);
        tally.add(resumed ? "resumed" : "full");
      },
      http: (ms) => tally.time("http", ms),
    }),
  },
  result: ({ tally }) => ({
    connectTcp: tally.timing("tcp"),
    tlsHandshake: tally.timing("tls"),
    connectHttp: tally.timing("http"),
    tlsFullHandshakes: tally.count("full"),
    tlsResumedHandshakes: tally.count("resumed"),
  }),
  metrics: [
    ...histogramMetrics("connectTcp", "TCP connect of each connection: SYN -> established"),
    ...histogramMetrics(
      "tlsHandshake",
      "TLS handshake of each connection: established -> handshake done",
    ),
    ...histogramMetrics(
      "connectHttp",
      "HTTP of each connection: ready to send -> the server's first byte",
    ),
    { path: "tlsFullHandshakes", unit: "count", kind: "count", better: null, description: FULL },
    {
      path: "tlsResumedHandshakes",
      unit: "count",
      kind: "count",
      better: null,
      description: RESUMED,
    },
  ],
  schema: {
    connectTcp: {
      description:
        "TCP connect of every connection the subscribers opened (reconnects too): SYN -> established. Absent in older results.",
      $ref: "#/definitions/histogram",
    },
    tlsHandshake: {
      description:
        "TLS handshake of every connection: established -> handshake done (no samples over plain HTTP). Absent in older results.",
      $ref: "#/definitions/histogram",
    },
    connectHttp: {
      description:
        "HTTP of every connection: ready to send -> the server's first byte (upgrade answer, response head); not timed for sse-h2. Absent in older results.",
      $ref: "#/definitions/histogram",
    },
    tlsFullHandshakes: {
      description:
        "TLS handshakes of the subscribers' connections with a full certificate check. Absent in older results.",
      type: "integer",
      minimum: 0,
    },
    tlsResumedHandshakes: {
      description:
        "TLS handshakes that resumed an earlier session (target.tls.sessionResumption). Absent in older results.",
      type: "integer",
      minimum: 0,
    },
  },
  rows: {
    after: "connect p99 ms",
    rows: [
      phaseRow("  TCP p99 ms", "connectTcp"),
      phaseRow("  TLS handshake p99 ms", "tlsHandshake"),
      phaseRow("  HTTP p99 ms", "connectHttp"),
      { label: "TLS handshakes full", value: (r) => r.tlsFullHandshakes, when: usedTls },
      { label: "TLS handshakes resumed", value: (r) => r.tlsResumedHandshakes, when: usedTls },
    ],
  },
};
