import type { Server } from "node:http";
import { HttpError } from "./http.js";

/**
 * The wait a refused subscriber is told (`Retry-After`, seconds): at least
 * RETRY_AFTER_MIN_S, spread over RETRY_AFTER_SPREAD_S more so that a crowd
 * refused together comes back spread out. A place frees only when a
 * subscriber leaves, which takes seconds; a shorter wait only brings the
 * crowd back to be refused again (rtbench's clients wait as told).
 */
export const RETRY_AFTER_MIN_S = 5;
export const RETRY_AFTER_SPREAD_S = 10;

/**
 * Admission control by open connections, which is what file descriptors are
 * spent on (keep-alive sockets between polls included). Only new subscribers
 * (streams, WebSockets, polls) are refused: publishes, /healthz and /metrics
 * still pass, on the descriptors the limit leaves free, so an instance at its
 * limit stays observable and keeps its channels moving.
 */
export class Admission {
  private open = 0;
  refused = 0;

  constructor(readonly maxConnections: number) {}

  /** Counts the server's connections from accept to close (upgraded WebSockets included). */
  track(server: Server): void {
    server.on("connection", (socket) => {
      this.open++;
      socket.once("close", () => this.open--);
    });
  }

  get openConnections(): number {
    return this.open;
  }

  /**
   * Throws a 503 with Retry-After when the server already holds more
   * connections than `maxConnections` (the one asking is counted). The answer
   * closes its connection, giving the descriptor back at once.
   */
  admitSubscriber(): void {
    if (this.open <= this.maxConnections) return;
    this.refused++;
    throw new HttpError(
      503,
      `server is at its connection limit (${this.maxConnections} open connections); retry later`,
      {
        "retry-after": String(RETRY_AFTER_MIN_S + Math.floor(Math.random() * RETRY_AFTER_SPREAD_S)),
        connection: "close",
      },
    );
  }
}

/** Prometheus lines for /metrics: open connections and refused subscribers. */
export function renderAdmissionMetrics(admission: Admission): string {
  return [
    "# HELP rtbench_open_connections Open client connections (all kinds), counted for admission control.",
    "# TYPE rtbench_open_connections gauge",
    `rtbench_open_connections ${admission.openConnections}`,
    "# HELP rtbench_max_connections Open connections beyond which new subscribers get 503.",
    "# TYPE rtbench_max_connections gauge",
    `rtbench_max_connections ${admission.maxConnections}`,
    "# HELP rtbench_refused_subscribers_total Subscribers refused with 503 at the connection limit.",
    "# TYPE rtbench_refused_subscribers_total counter",
    `rtbench_refused_subscribers_total ${admission.refused}`,
    "",
  ].join("\n");
}
