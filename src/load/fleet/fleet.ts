import { createClient } from "../../clients/registry.js";
import { createClientTlsState } from "../../clients/tls.js";
import {
  type ClientContext,
  type ClientOptions,
  createClientContext,
  type TransportClient,
} from "../../clients/types.js";
import { measures } from "../../measures/registry.js";
import { ShardMeasures } from "../../measures/shard.js";
import { type Counters, zeroCounters } from "../../metrics/counters.js";
import { createLatencyHistogram, encodeHistogram } from "../../metrics/histogram.js";
import type { ProcessLoad } from "../../metrics/process-load.js";
import {
  BREAK_LOG_LIMIT,
  type ConnectionLog,
  type ShardReport,
  type UncountedPublishes,
  type UnrecognisedFrame,
} from "../../run-model/shard-report.js";
import type { BrokerFaultAction } from "../../scenario/types.js";
import { errorText } from "../../shared/errors.js";
import type { ProtocolName } from "../../shared/transports.js";
import { transport } from "../../shared/transports.js";
import { type Clock, realClock } from "../../util/clock.js";
import { classifyFailure } from "../../util/failure.js";
import { seededRandom } from "../../util/random.js";
import type { ShardStart } from "../shards/shard-protocol.js";
import { ChurnWaves } from "./churn-waves.js";
import { FleetTimeline } from "./fleet-timeline.js";
import { frameSample } from "./frame-sample.js";
import { breakReasonKey, ReasonTally } from "./reason-tally.js";
import { Subscriber } from "./subscriber.js";
import type { SubscriberFleet } from "./subscriber-fleet.js";
import { SilenceWatchdog } from "./watchdog.js";

/** Connect failure reasons kept; more reasons are only counted in connectFailures. */
const CONNECT_ERROR_REASONS_KEPT = 5;
/** Break reasons kept; more reasons are only counted in breaks. */
const BREAK_REASONS_KEPT = 8;

export interface FleetOptions {
  /** Time and timers; a test passes a manual clock. Default: the real ones. */
  clock?: Clock;
  /** Makes the client for one connection. Default: the transport registry. */
  createClient?: (protocol: ProtocolName, options: ClientOptions) => TransportClient;
}

/**
 * The simulated clients of one process: connects them on the ramp-up
 * schedule, turns their events into metrics, and reconnects a client whose
 * connection broke, following the scenario's reconnect policy.
 */
export class Fleet implements SubscriberFleet {
  readonly context: ClientContext;
  /** Per-second series; also holds the delivery-latency histograms, one per second. */
  readonly timeline: FleetTimeline;
  readonly latencyFromSend = createLatencyHistogram();
  readonly connect = createLatencyHistogram();
  /** The registered measures' shard side; also records every connection's phases (clients/tls.ts). */
  readonly measures: ShardMeasures;
  readonly reconnect = createLatencyHistogram();
  readonly outage = createLatencyHistogram();
  readonly counters: Counters = zeroCounters();
  readonly clock: Clock;
  readonly createClient: NonNullable<FleetOptions["createClient"]>;
  readonly random: () => number;
  /** Silence on a streaming connection longer than this means it is dead (0: never). */
  readonly watchdogMs: number;
  readonly requestTimeoutMs: number;
  /** Connections ready now, and messages received so far: the shard's progress. */
  open = 0;
  received = 0;
  readonly attemptsPerSecond: Record<string, number> = {};
  readonly breakLog: [number, number][] = [];
  /** Why connection attempts failed, by reason, with the first error's words. */
  private readonly connectErrors = new ReasonTally(CONNECT_ERROR_REASONS_KEPT);
  /** Why ready connections broke, by reason, with the first break's words. */
  private readonly breakReasons = new ReasonTally(BREAK_REASONS_KEPT);
  /** The first thing received that was not a message, kept to show when nothing was. */
  private firstUnrecognised: UnrecognisedFrame | null = null;
  /** Subscribers log their connected spans (presence sampling compares with them). */
  readonly logsConnections: boolean;
  /** Per URL index: deliveries in the window, and clients connected when it started. */
  private readonly instanceDeliveries: number[];
  private instanceConnections: number[];
  private churn: ChurnWaves | null = null;
  private readonly subscribers: Subscriber[];
  private windowStart = { bytesIn: 0, bytesOut: 0, requests: 0, emptyPolls: 0, socketsOpen: 0 };
  private windowEnd: typeof this.windowStart | null = null;
  private readonly watchdog: SilenceWatchdog | null = null;
  private closed = false;

  constructor(
    readonly spec: ShardStart,
    options: FleetOptions = {},
  ) {
    this.clock = options.clock ?? realClock;
    this.context = createClientContext(createClientTlsState(spec.tls ?? undefined));
    this.measures = new ShardMeasures(measures(), {
      measureStartMs: spec.measureStartMs,
      measureEndMs: spec.measureEndMs,
      now: () => this.clock.now(),
    });
    this.context.phases = this.measures;
    this.createClient = options.createClient ?? createClient;
    this.random = seededRandom(spec.seed + (spec.clients[0]?.index ?? 0));
    this.timeline = new FleetTimeline(spec.rampStartMs, spec.drainEndMs);
    const { watchdogIntervals } = spec.reconnect;
    this.watchdogMs = watchdogIntervals * spec.heartbeatIntervalMs;
    // A poll unanswered for the watchdog time is as dead as a silent stream.
    this.requestTimeoutMs = this.watchdogMs > 0 ? this.watchdogMs : 300_000;
    this.logsConnections = spec.logConnections === true;
    this.instanceDeliveries = spec.urls.map(() => 0);
    this.instanceConnections = spec.urls.map(() => 0);
    this.subscribers = spec.clients.map((assignment) => new Subscriber(this, assignment));
    // With fallback, a client may end on any of its steps' transports.
    const protocols = spec.fallback?.steps.map((s) => s.protocol) ?? [spec.protocol];
    if (this.watchdogMs > 0 && protocols.some((name) => transport(name).watchable)) {
      this.watchdog = new SilenceWatchdog(this.clock, this.subscribers, this.watchdogMs);
    }
    this.timeline.cut(this.clock.now(), this.counterSnapshot());
  }

  /** Connects every client at its ramp-up slot; resolves when all attempts have started. */
  async rampUp(signal: AbortSignal): Promise<void> {
    const { rampStartMs, rampUpMs, totalClients } = this.spec;
    const stepMs = totalClients > 0 ? rampUpMs / totalClients : 0;
    for (const subscriber of this.subscribers) {
      if (signal.aborted || this.closed) return;
      const dueMs = rampStartMs + subscriber.assignment.index * stepMs;
      const waitMs = dueMs - this.clock.now();
      // Batch timers: waking up for every single client costs more than a 5 ms jitter.
      if (waitMs > 5) await new Promise<void>((resolve) => this.clock.setTimeout(resolve, waitMs));
      subscriber.attempt();
    }
  }

  /** The measured window starts: placement is noted, then churn (if any) begins. */
  markWindowStart(): void {
    this.windowStart = this.counterSnapshot();
    this.timeline.cut(this.clock.now(), this.windowStart);
    this.timeline.setInWindow(true);
    this.instanceConnections = this.spec.urls.map(() => 0);
    for (const subscriber of this.subscribers) {
      if (!subscriber.isReady()) continue;
      const i = subscriber.urlIndex;
      this.instanceConnections[i] = (this.instanceConnections[i] ?? 0) + 1;
    }
    // Churn (if any) begins with the window.
    const plan = this.spec.churn;
    if (plan && !this.closed && this.churn === null) {
      this.churn = new ChurnWaves(plan, this.clock, this.subscribers, this.random);
    }
  }

  /** Counts a frame that was not a message; the first is kept (cut short) to show the user. */
  countUnrecognised(what: string | undefined, frame: unknown): void {
    this.counters.unrecognisedFrames++;
    if (this.firstUnrecognised === null) {
      this.firstUnrecognised = { what: what ?? "not a message", frame: frameSample(frame) };
    }
  }

  /** A delivery of a message scheduled in the window, by the instance it came through. */
  countDelivery(urlIndex: number): void {
    this.instanceDeliveries[urlIndex] = (this.instanceDeliveries[urlIndex] ?? 0) + 1;
  }

  markWindowEnd(): void {
    this.windowEnd = this.counterSnapshot();
    this.timeline.cut(this.clock.now(), this.windowEnd);
    this.timeline.setInWindow(false);
  }

  /**
   * A broker fault ended at `atMs` (monotonic ms, the parent's word): every
   * subscriber times its return from it (subscriber.ts, catch-up.ts).
   */
  brokerBack(action: BrokerFaultAction, atMs: number): void {
    if (this.closed) return;
    for (const subscriber of this.subscribers) subscriber.brokerBack(action, atMs);
  }

  isClosed(): boolean {
    return this.closed;
  }

  close(): void {
    this.closed = true;
    this.churn?.cancel();
    this.watchdog?.stop();
    for (const subscriber of this.subscribers) subscriber.stop();
  }

  countAttempt(): void {
    this.counters.reconnectAttempts++;
    const second = String(Math.floor(this.clock.now() / 1000));
    this.attemptsPerSecond[second] = (this.attemptsPerSecond[second] ?? 0) + 1;
  }

  noteConnectError(error: unknown): void {
    const example = errorText(error);
    this.connectErrors.add(classifyFailure(error).reason, example);
  }

  /** A ready connection broke, for `reason` (the client's words). */
  logBreak(urlIndex: number, reason: string): void {
    this.counters.breaks++;
    this.measures.broke(this.clock.now(), reason);
    this.breakReasons.add(breakReasonKey(reason), reason);
    this.timeline.countBreak(this.clock.now());
    if (this.breakLog.length < BREAK_LOG_LIMIT) this.breakLog.push([this.clock.now(), urlIndex]);
  }

  /**
   * The shard's report. `load`: the shard process's own CPU and event loop
   * over the window; `loopDelayP99Ms`: its loop delay per second, for the timeline.
   */
  report(
    eventLoopDelayP99Ms: number,
    load: ProcessLoad | null = null,
    loopDelayP99Ms: (number | null)[] = [],
    uncounted: UncountedPublishes = [],
  ): ShardReport {
    const end = this.windowEnd ?? this.counterSnapshot();
    // A run stopped inside the window: its last segment counts up to now, as `end` does.
    if (this.windowEnd === null) this.timeline.cut(this.clock.now(), end);
    return {
      type: "report",
      subscribers: this.subscribers.map((s) => ({
        channel: s.assignment.channel,
        firstReadyMs: s.firstReadyMs,
        received: s.tracker.toJSON(),
        ...s.slowWatch?.report(),
        ...(s.fallback ? { fallbackStartMs: s.fallback.startedMs } : {}),
      })),
      latency: encodeHistogram(this.timeline.totalLatency()),
      latencyFromSend: encodeHistogram(this.latencyFromSend),
      connect: encodeHistogram(this.connect),
      reconnect: encodeHistogram(this.reconnect),
      outage: encodeHistogram(this.outage),
      counters: {
        ...this.counters,
        // States at the end rather than event counts: taken now.
        neverReconnected: this.subscribers.filter((s) => s.isBroken()).length,
        neverConnected: this.subscribers.filter((s) => s.neverConnected()).length,
      },
      attemptsPerSecond: this.attemptsPerSecond,
      breakLog: this.breakLog,
      window: {
        bytesIn: end.bytesIn - this.windowStart.bytesIn,
        bytesOut: end.bytesOut - this.windowStart.bytesOut,
        requests: end.requests - this.windowStart.requests,
        emptyPolls: end.emptyPolls - this.windowStart.emptyPolls,
        // A state, not a count: the connections held when the window ended.
        socketsOpen: end.socketsOpen,
      },
      eventLoopDelayP99Ms,
      load,
      connectErrors: this.connectErrors.toJSON(),
      breakReasons: this.breakReasons.toJSON(),
      timeline: this.timeline.report(uncounted, loopDelayP99Ms),
      instances: { deliveries: this.instanceDeliveries, connections: this.instanceConnections },
      firstUnrecognised: this.firstUnrecognised,
      ...(this.logsConnections ? { connections: this.connectionLogs() } : {}),
      measures: this.measures.report(),
    };
  }

  /**
   * Called at every second boundary of the timeline (by the shard's
   * per-second ticker): closes the second's traffic segment.
   */
  cutSecond(): void {
    this.timeline.cut(this.clock.now(), this.counterSnapshot());
  }

  private connectionLogs(): ConnectionLog[] {
    return this.subscribers.map((s) => {
      const spans: [number, number | null][] = [];
      for (let i = 0; i < s.spans.length; i += 2) {
        const end = s.spans[i + 1] as number;
        spans.push([s.spans[i] as number, Number.isNaN(end) ? null : end]);
      }
      return { user: s.assignment.user, channel: s.assignment.channel, spans };
    });
  }

  private counterSnapshot() {
    const { bytesIn, bytesOut } = this.context.sockets.totals();
    const { requests, emptyPolls } = this.context.counters;
    return { bytesIn, bytesOut, requests, emptyPolls, socketsOpen: this.context.sockets.openCount };
  }
}
