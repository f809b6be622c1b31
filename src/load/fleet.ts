import { performance } from "node:perf_hooks";
import { createClient } from "../clients/registry.js";
import {
  type ClientContext,
  type ClientHandlers,
  createClientContext,
  type TransportClient,
} from "../clients/types.js";
import { createLatencyHistogram, encodeHistogram, recordMs } from "../metrics/histogram.js";
import { SeqTracker } from "../metrics/seq-tracker.js";
import { transport } from "../shared/transports.js";
import { monoMs } from "../util/clock.js";
import { seededRandom } from "../util/random.js";
import type { ClientAssignment } from "./assign.js";
import { backoffDelayMs } from "./backoff.js";
import { BREAK_LOG_LIMIT, type ShardReport, type ShardStart } from "./shard-protocol.js";
import { readStamp } from "./stamp.js";

/** How often the client-side watchdog looks for silent connections. */
const WATCHDOG_SCAN_MS = 250;

/**
 * The simulated clients of one process: connects them on the ramp-up
 * schedule, turns their events into metrics, and reconnects a client whose
 * connection broke, following the scenario's reconnect policy.
 */
export class Fleet {
  readonly context: ClientContext = createClientContext();
  readonly latency = createLatencyHistogram();
  readonly latencyFromSend = createLatencyHistogram();
  readonly connect = createLatencyHistogram();
  readonly reconnect = createLatencyHistogram();
  readonly outage = createLatencyHistogram();
  readonly random: () => number;
  /** Silence on a streaming connection longer than this means it is dead (0: never). */
  readonly watchdogMs: number;
  readonly requestTimeoutMs: number;
  open = 0;
  received = 0;
  duplicates = 0;
  reordered = 0;
  unstamped = 0;
  connectFailures = 0;
  breaks = 0;
  watchdogBreaks = 0;
  reconnectAttempts = 0;
  failedReconnects = 0;
  gaveUp = 0;
  readonly attemptsPerSecond: Record<string, number> = {};
  readonly breakLog: [number, number][] = [];
  private readonly subscribers: Subscriber[];
  private windowStart = { bytesIn: 0, bytesOut: 0, requests: 0, emptyPolls: 0 };
  private windowEnd: typeof this.windowStart | null = null;
  private watchdogTimer: NodeJS.Timeout | null = null;
  private lastScanMs = 0;
  private resumedAtMs = 0;
  private closed = false;

  constructor(readonly spec: ShardStart) {
    this.random = seededRandom(spec.seed + (spec.clients[0]?.index ?? 0));
    const { watchdogIntervals } = spec.reconnect;
    this.watchdogMs = watchdogIntervals * spec.heartbeatIntervalMs;
    // A poll unanswered for the watchdog time is as dead as a silent stream.
    this.requestTimeoutMs = this.watchdogMs > 0 ? this.watchdogMs : 300_000;
    this.subscribers = spec.clients.map((assignment) => new Subscriber(this, assignment));
    if (this.watchdogMs > 0 && transport(spec.protocol).watchable) {
      this.watchdogTimer = setInterval(() => this.scanForSilence(), WATCHDOG_SCAN_MS);
    }
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
      subscriber.attempt();
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
    if (this.watchdogTimer) clearInterval(this.watchdogTimer);
    for (const subscriber of this.subscribers) subscriber.stop();
  }

  countAttempt(): void {
    this.reconnectAttempts++;
    const second = String(Math.floor(monoMs() / 1000));
    this.attemptsPerSecond[second] = (this.attemptsPerSecond[second] ?? 0) + 1;
  }

  logBreak(urlIndex: number): void {
    this.breaks++;
    if (this.breakLog.length < BREAK_LOG_LIMIT) this.breakLog.push([monoMs(), urlIndex]);
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
      reconnect: encodeHistogram(this.reconnect),
      outage: encodeHistogram(this.outage),
      duplicates: this.duplicates,
      reordered: this.reordered,
      unstamped: this.unstamped,
      connectFailures: this.connectFailures,
      breaks: this.breaks,
      watchdogBreaks: this.watchdogBreaks,
      reconnectAttempts: this.reconnectAttempts,
      failedReconnects: this.failedReconnects,
      neverReconnected: this.subscribers.filter((s) => s.isBroken()).length,
      gaveUp: this.gaveUp,
      attemptsPerSecond: this.attemptsPerSecond,
      breakLog: this.breakLog,
      window: {
        bytesIn: end.bytesIn - this.windowStart.bytesIn,
        bytesOut: end.bytesOut - this.windowStart.bytesOut,
        requests: end.requests - this.windowStart.requests,
        emptyPolls: end.emptyPolls - this.windowStart.emptyPolls,
      },
      eventLoopDelayP99Ms,
    };
  }

  private scanForSilence(): void {
    const now = performance.now();
    // A scan far later than scheduled means this process itself was not running
    // (SIGSTOP, a long GC pause): the silence was ours, not the server's, so it
    // counts only from now on.
    if (this.lastScanMs > 0 && now - this.lastScanMs > WATCHDOG_SCAN_MS * 4) this.resumedAtMs = now;
    this.lastScanMs = now;
    for (const subscriber of this.subscribers) {
      subscriber.checkSilence(now, this.resumedAtMs, this.watchdogMs);
    }
  }

  private counterSnapshot() {
    const { bytesIn, bytesOut } = this.context.sockets.totals();
    const { requests, emptyPolls } = this.context.counters;
    return { bytesIn, bytesOut, requests, emptyPolls };
  }
}

/**
 * One simulated subscriber across all its connections. Its handlers are
 * methods, so receiving a message allocates no closure.
 */
class Subscriber implements ClientHandlers {
  readonly tracker = new SeqTracker();
  firstReadyMs: number | null = null;
  private client: TransportClient | null = null;
  private cursor: string | undefined;
  private urlIndex: number;
  private maxId = Number.NEGATIVE_INFINITY;
  private retryTimer: NodeJS.Timeout | null = null;
  private ready = false;
  /** Failed attempts since the last time the client was ready. */
  private failures = 0;
  /** When the current break was noticed (monotonic ms); null while connected. */
  private brokenAtMs: number | null = null;
  private lastMessageMs: number | null = null;
  /** Start of the outage to record at the first message after a reconnect. */
  private outageFromMs: number | null = null;
  private serverRetryMs: number | undefined;

  constructor(
    private readonly fleet: Fleet,
    readonly assignment: ClientAssignment,
  ) {
    this.urlIndex = Math.max(0, fleet.spec.urls.indexOf(assignment.baseUrl));
  }

  isBroken(): boolean {
    return this.brokenAtMs !== null;
  }

  /** One connection attempt to the current URL. */
  attempt(): void {
    const fleet = this.fleet;
    if (fleet.isClosed()) return;
    const { spec, context } = fleet;
    if (this.brokenAtMs !== null) fleet.countAttempt();
    this.ready = false;
    const client = createClient(spec.protocol, {
      baseUrl: spec.urls[this.urlIndex] ?? this.assignment.baseUrl,
      channel: this.assignment.channel,
      user: this.assignment.user,
      since: spec.reconnect.resume ? this.cursor : undefined,
      settings: spec.settings,
      requestTimeoutMs: fleet.requestTimeoutMs,
      handlers: this,
      context,
    });
    this.client = client;
    client.connect().catch(() => {
      if (this.client !== client) return;
      this.client = null;
      client.close();
      if (this.brokenAtMs === null) fleet.connectFailures++;
      else fleet.failedReconnects++;
      this.failures++;
      // As a load balancer would: the next attempt goes to the next instance.
      this.urlIndex = (this.urlIndex + 1) % spec.urls.length;
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
    const fleet = this.fleet;
    const nowMs = monoMs();
    this.ready = true;
    this.failures = 0;
    fleet.open++;
    if (this.firstReadyMs === null) {
      this.firstReadyMs = nowMs;
      recordMs(fleet.connect, connectMs);
    }
    if (this.brokenAtMs !== null) {
      recordMs(fleet.reconnect, nowMs - this.brokenAtMs);
      this.brokenAtMs = null;
    }
  }

  onMessage(id: string, body: unknown): void {
    const nowMs = monoMs();
    const fleet = this.fleet;
    fleet.received++;
    this.cursor = id;
    this.lastMessageMs = nowMs;
    if (this.outageFromMs !== null) {
      recordMs(fleet.outage, nowMs - this.outageFromMs);
      this.outageFromMs = null;
    }
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
    const fleet = this.fleet;
    const client = this.client;
    if (!this.ready || client === null) return;
    this.ready = false;
    fleet.open--;
    fleet.logBreak(this.urlIndex);
    this.brokenAtMs = monoMs();
    // A subscriber that has not had a message yet has been out since the break.
    if (this.outageFromMs === null) this.outageFromMs = this.lastMessageMs ?? this.brokenAtMs;
    if (client.cursor !== undefined) this.cursor = client.cursor;
    this.serverRetryMs = client.retryMs;
    this.client = null;
    client.close();
    this.retryLater();
  }

  /** Watchdog: a ready streaming connection silent for longer than `limitMs` is dead. */
  checkSilence(nowMs: number, resumedAtMs: number, limitMs: number): void {
    const last = this.client?.lastActivityMs;
    if (!this.ready || last === undefined || last === 0) return;
    if (nowMs - Math.max(last, resumedAtMs) <= limitMs) return;
    this.fleet.watchdogBreaks++;
    this.onBreak();
  }

  private retryLater(): void {
    const fleet = this.fleet;
    if (fleet.isClosed() || this.retryTimer) return;
    const policy = fleet.spec.reconnect;
    if (this.brokenAtMs !== null && this.failures >= policy.maxRetries) {
      fleet.gaveUp++;
      return;
    }
    const firstDelayMs =
      policy.honorServerRetry && this.serverRetryMs !== undefined
        ? this.serverRetryMs
        : policy.initialDelayMs;
    const delayMs = backoffDelayMs(policy, this.failures + 1, fleet.random, firstDelayMs);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.attempt();
    }, delayMs);
  }
}
