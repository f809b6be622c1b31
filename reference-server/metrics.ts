/** Heartbeat timeouts remembered one by one (for /admin/heartbeat-timeouts); more are only counted. */
const HEARTBEAT_TIMEOUT_LOG_LIMIT = 100_000;

/**
 * The counters behind `/metrics`. Transports bump plain numbers on their hot
 * paths; text is only built when someone scrapes.
 */
export class ServerMetrics {
  messagesIn = 0;
  heartbeatTimeouts = 0;
  /** Streams cut because the client did not take what was written within the write timeout. */
  writeTimeouts = 0;
  /** When each stream was cut for its write timeout (monotonic ms, as `heartbeatTimeoutLog`). */
  readonly writeTimeoutLog: number[] = [];

  recordWriteTimeout(): void {
    this.writeTimeouts++;
    if (this.writeTimeoutLog.length < HEARTBEAT_TIMEOUT_LOG_LIMIT) {
      this.writeTimeoutLog.push(Number(process.hrtime.bigint()) / 1e6);
    }
  }
  /** TLS connections accepted (server.tls), by the protocol ALPN chose: h2 or http/1.1. */
  tlsConnections = { h2: 0, "http/1.1": 0 };
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
  /** Per mounted transport, by name (every key present from the start). */
  readonly messagesOut: Record<string, number>;
  readonly bytesOut: Record<string, number>;

  constructor(private readonly transports: readonly string[]) {
    this.messagesOut = Object.fromEntries(transports.map((t) => [t, 0]));
    this.bytesOut = Object.fromEntries(transports.map((t) => [t, 0]));
  }

  countOut(transport: string, messages: number, bytes: number): void {
    this.messagesOut[transport] = (this.messagesOut[transport] ?? 0) + messages;
    this.bytesOut[transport] = (this.bytesOut[transport] ?? 0) + bytes;
  }

  /**
   * Prometheus text exposition; `connections` are the gauges by transport,
   * `brokerOps` the broker's own operation counts (memory; null for Redis,
   * which counts its commands itself).
   */
  render(
    connections: ReadonlyMap<string, number>,
    brokerOps: Record<string, number> | null = null,
  ): string {
    const lines: string[] = [];
    lines.push("# HELP rtbench_connections Open connections (in-flight requests for polls).");
    lines.push("# TYPE rtbench_connections gauge");
    for (const t of this.transports)
      lines.push(`rtbench_connections{transport="${t}"} ${connections.get(t) ?? 0}`);
    lines.push("# HELP rtbench_messages_in_total Messages published through this instance.");
    lines.push("# TYPE rtbench_messages_in_total counter");
    lines.push(`rtbench_messages_in_total ${this.messagesIn}`);
    lines.push("# HELP rtbench_messages_out_total Messages sent to subscribers.");
    lines.push("# TYPE rtbench_messages_out_total counter");
    for (const t of this.transports) {
      lines.push(`rtbench_messages_out_total{transport="${t}"} ${this.messagesOut[t]}`);
    }
    lines.push(
      "# HELP rtbench_bytes_out_total Bytes of response bodies, SSE events and WebSocket frames sent (HTTP headers excluded).",
    );
    lines.push("# TYPE rtbench_bytes_out_total counter");
    for (const t of this.transports)
      lines.push(`rtbench_bytes_out_total{transport="${t}"} ${this.bytesOut[t]}`);
    lines.push(
      "# HELP rtbench_heartbeat_timeouts_total Connections dropped for missing 3 heartbeats.",
    );
    lines.push("# TYPE rtbench_heartbeat_timeouts_total counter");
    lines.push(`rtbench_heartbeat_timeouts_total ${this.heartbeatTimeouts}`);
    lines.push(
      "# HELP rtbench_write_timeouts_total Streams cut because the client took nothing of what was written within the write timeout (a slow consumer).",
    );
    lines.push("# TYPE rtbench_write_timeouts_total counter");
    lines.push(`rtbench_write_timeouts_total ${this.writeTimeouts}`);
    lines.push("# HELP rtbench_tls_connections_total TLS connections accepted (handshake done).");
    lines.push("# TYPE rtbench_tls_connections_total counter");
    for (const [alpn, count] of Object.entries(this.tlsConnections)) {
      lines.push(`rtbench_tls_connections_total{alpn="${alpn}"} ${count}`);
    }
    if (brokerOps !== null) {
      lines.push(
        "# HELP rtbench_broker_operations_total Operations of the in-process broker, by kind.",
      );
      lines.push("# TYPE rtbench_broker_operations_total counter");
      for (const [op, count] of Object.entries(brokerOps)) {
        lines.push(`rtbench_broker_operations_total{op="${op}"} ${count}`);
      }
    }
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
