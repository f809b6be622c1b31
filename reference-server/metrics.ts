import { PROTOCOLS, type ProtocolName } from "../src/shared/protocol.js";

/**
 * The counters behind `/metrics`. Transports bump plain numbers on their hot
 * paths; text is only built when someone scrapes.
 */
/** Heartbeat timeouts remembered one by one (for /admin/heartbeat-timeouts); more are only counted. */
const HEARTBEAT_TIMEOUT_LOG_LIMIT = 100_000;

export class ServerMetrics {
  messagesIn = 0;
  heartbeatTimeouts = 0;
  /**
   * When each connection was dropped for missing heartbeats, in ms of the
   * monotonic clock (process.hrtime), which every process on the host shares:
   * the load generator subtracts its own fault times from these.
   */
  readonly heartbeatTimeoutLog: number[] = [];

  recordHeartbeatTimeout(): void {
    this.heartbeatTimeouts++;
    if (this.heartbeatTimeoutLog.length < HEARTBEAT_TIMEOUT_LOG_LIMIT) {
      this.heartbeatTimeoutLog.push(Number(process.hrtime.bigint()) / 1e6);
    }
  }
  readonly messagesOut: Record<ProtocolName, number> = zeroes();
  readonly bytesOut: Record<ProtocolName, number> = zeroes();

  countOut(transport: ProtocolName, messages: number, bytes: number): void {
    this.messagesOut[transport] += messages;
    this.bytesOut[transport] += bytes;
  }

  /** Prometheus text exposition; `connections` are the gauges by transport. */
  render(connections: Record<ProtocolName, number>): string {
    const lines: string[] = [];
    lines.push("# HELP rtbench_connections Open connections (in-flight requests for polls).");
    lines.push("# TYPE rtbench_connections gauge");
    for (const t of PROTOCOLS)
      lines.push(`rtbench_connections{transport="${t}"} ${connections[t]}`);
    lines.push("# HELP rtbench_messages_in_total Messages published through this instance.");
    lines.push("# TYPE rtbench_messages_in_total counter");
    lines.push(`rtbench_messages_in_total ${this.messagesIn}`);
    lines.push("# HELP rtbench_messages_out_total Messages sent to subscribers.");
    lines.push("# TYPE rtbench_messages_out_total counter");
    for (const t of PROTOCOLS) {
      lines.push(`rtbench_messages_out_total{transport="${t}"} ${this.messagesOut[t]}`);
    }
    lines.push(
      "# HELP rtbench_bytes_out_total Bytes of response bodies, SSE events and WebSocket frames sent (HTTP headers excluded).",
    );
    lines.push("# TYPE rtbench_bytes_out_total counter");
    for (const t of PROTOCOLS)
      lines.push(`rtbench_bytes_out_total{transport="${t}"} ${this.bytesOut[t]}`);
    lines.push(
      "# HELP rtbench_heartbeat_timeouts_total Connections dropped for missing 3 heartbeats.",
    );
    lines.push("# TYPE rtbench_heartbeat_timeouts_total counter");
    lines.push(`rtbench_heartbeat_timeouts_total ${this.heartbeatTimeouts}`);
    const cpu = process.cpuUsage();
    lines.push("# HELP process_cpu_seconds_total User and system CPU time of this process.");
    lines.push("# TYPE process_cpu_seconds_total counter");
    lines.push(`process_cpu_seconds_total ${(cpu.user + cpu.system) / 1e6}`);
    lines.push("# HELP process_resident_memory_bytes Resident set size of this process.");
    lines.push("# TYPE process_resident_memory_bytes gauge");
    lines.push(`process_resident_memory_bytes ${process.memoryUsage.rss()}`);
    return `${lines.join("\n")}\n`;
  }
}

function zeroes(): Record<ProtocolName, number> {
  return { "short-poll": 0, "long-poll": 0, sse: 0, websocket: 0 };
}
