import { createClient } from "../clients/registry.js";
import {
  type ClientContext,
  type ClientHandlers,
  SocketTracker,
  type TransportClient,
} from "../clients/types.js";
import { createLatencyHistogram, encodeHistogram, recordMs } from "../metrics/histogram.js";
import { SeqTracker } from "../metrics/seq-tracker.js";
import { monoMs } from "../util/clock.js";
import type { ClientAssignment } from "./assign.js";
import type { ShardReport, ShardStart } from "./shard-protocol.js";
import { readStamp } from "./stamp.js";

/**
 * The simulated clients of one process: connects them on the ramp-up
 * schedule, turns their events into metrics, and reconnects a client whose
 * connection broke (resuming from its cursor).
 */
export class Fleet {
  readonly context: ClientContext = {
    sockets: new SocketTracker(),
    counters: { requests: 0, emptyPolls: 0 },
  };
  readonly latency = createLatencyHistogram();
  readonly latencyFromSend = createLatencyHistogram();
  readonly connect = createLatencyHistogram();
  open = 0;
  received = 0;
  duplicates = 0;
  reordered = 0;
  unstamped = 0;
  connectFailures = 0;
  breaks = 0;
  private readonly subscribers: Subscriber[];
  private windowStart = { bytesIn: 0, bytesOut: 0, requests: 0, emptyPolls: 0 };
  private windowEnd: typeof this.windowStart | null = null;
  private closed = false;

  constructor(readonly spec: ShardStart) {
    this.subscribers = spec.clients.map((assignment) => new Subscriber(this, assignment));
  }

  /** Connects every client at its ramp-up slot; resolves when all attempts have started. */
  async rampUp(signal: AbortSignal): Promise<void> {
    const { rampStartMs, rampUpMs, totalClients } = this.spec;
    const stepMs = totalClients > 0 ? rampUpMs / totalClients : 0;
    for (const subscriber of this.subscribers) {
      if (signal.aborted || this.closed) return;
      const dueMs = rampStartMs + subscriber.assignment.index * stepMs;
      const waitMs = dueMs - monoMs();
      // Batch timers: waking up for every single client costs more than a 5 ms jitter.
      if (waitMs > 5) await new Promise((resolve) => setTimeout(resolve, waitMs));
      subscriber.start();
    }
  }

  markWindowStart(): void {
    this.windowStart = this.counterSnapshot();
  }

  markWindowEnd(): void {
    this.windowEnd = this.counterSnapshot();
  }

  isClosed(): boolean {
    return this.closed;
  }

  close(): void {
    this.closed = true;
    for (const subscriber of this.subscribers) subscriber.stop();
  }

  report(eventLoopDelayP99Ms: number): ShardReport {
    const end = this.windowEnd ?? this.counterSnapshot();
    return {
      type: "report",
      subscribers: this.subscribers.map((s) => ({
        channel: s.assignment.channel,
        firstReadyMs: s.firstReadyMs,
        received: s.tracker.toJSON(),
      })),
      latency: encodeHistogram(this.latency),
      latencyFromSend: encodeHistogram(this.latencyFromSend),
      connect: encodeHistogram(this.connect),
      duplicates: this.duplicates,
      reordered: this.reordered,
      unstamped: this.unstamped,
      connectFailures: this.connectFailures,
      breaks: this.breaks,
      window: {
        bytesIn: end.bytesIn - this.windowStart.bytesIn,
        bytesOut: end.bytesOut - this.windowStart.bytesOut,
        requests: end.requests - this.windowStart.requests,
        emptyPolls: end.emptyPolls - this.windowStart.emptyPolls,
      },
      eventLoopDelayP99Ms,
    };
  }

  private counterSnapshot() {
    const { bytesIn, bytesOut } = this.context.sockets.totals();
    const { requests, emptyPolls } = this.context.counters;
    return { bytesIn, bytesOut, requests, emptyPolls };
  }
}

/** One simulated subscriber: its handlers are methods, so receiving a message allocates no closure. */
class Subscriber implements ClientHandlers {
  readonly tracker = new SeqTracker();
  firstReadyMs: number | null = null;
  private client: TransportClient | null = null;
  private cursor: string | undefined;
  private maxId = Number.NEGATIVE_INFINITY;
  private retryTimer: NodeJS.Timeout | null = null;
  private ready = false;

  constructor(
    private readonly fleet: Fleet,
    readonly assignment: ClientAssignment,
  ) {}

  start(): void {
    if (this.fleet.isClosed()) return;
    const { spec, context } = this.fleet;
    this.ready = false;
    const client = createClient(spec.protocol, {
      baseUrl: this.assignment.baseUrl,
      channel: this.assignment.channel,
      user: this.assignment.user,
      since: this.cursor,
      shortPollIntervalMs: spec.shortPollIntervalMs,
      longPollTimeoutMs: spec.longPollTimeoutMs,
      sseClient: spec.sseClient,
      handlers: this,
      context,
    });
    this.client = client;
    client.connect().catch(() => {
      if (this.client !== client) return;
      this.fleet.connectFailures++;
      client.close();
      this.retryLater();
    });
  }

  stop(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    if (this.ready) this.fleet.open--;
    this.ready = false;
    this.client?.close();
    this.client = null;
  }

  onReady(connectMs: number): void {
    this.ready = true;
    this.fleet.open++;
    if (this.firstReadyMs === null) {
      this.firstReadyMs = monoMs();
      recordMs(this.fleet.connect, connectMs);
    }
  }

  onMessage(id: string, body: unknown): void {
    const nowMs = monoMs();
    const fleet = this.fleet;
    fleet.received++;
    this.cursor = id;
    const stamp = readStamp(body);
    if (stamp === null) {
      fleet.unstamped++;
      return;
    }
    if (this.tracker.add(stamp.seq) === "duplicate") {
      fleet.duplicates++;
      return;
    }
    // Reordering is judged by the server's id when it is a number (the reference
    // server's are), else by the publisher's per-channel sequence.
    const order = Number(id);
    const position = Number.isFinite(order) ? order : stamp.seq;
    if (position < this.maxId) fleet.reordered++;
    else this.maxId = position;
    if (stamp.sch >= fleet.spec.measureStartMs && stamp.sch < fleet.spec.measureEndMs) {
      recordMs(fleet.latency, nowMs - stamp.sch);
      recordMs(fleet.latencyFromSend, nowMs - stamp.snt);
    }
  }

  onGap(): void {
    // Loss across a gap shows up as missing sequence numbers; nothing to add here.
  }

  onBreak(): void {
    if (this.ready) this.fleet.open--;
    this.ready = false;
    this.fleet.breaks++;
    const client = this.client;
    if (client && client.cursor !== undefined) this.cursor = client.cursor;
    client?.close();
    this.client = null;
    this.retryLater();
  }

  private retryLater(): void {
    if (this.fleet.isClosed() || this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.start();
    }, this.fleet.spec.retryDelayMs);
  }
}
