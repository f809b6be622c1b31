import type { Counters } from "../metrics/counters.js";
import type { HistogramSummary, ProtocolResult } from "../metrics/types.js";
import type { PublishAckCounts, PublishRecord } from "../run-model/publish-record.js";
import type { ConnectionLog, ShardReport, SubscriberReport } from "../run-model/shard-report.js";
import type { Timeline, Window } from "../run-model/timeline.js";
import type { ControlTraffic, WorkerClock } from "../run-model/workers.js";
import type { OperationCounts } from "../services/types.js";
import type { BrokerFaultAction } from "../shared/brokers.js";
import type { PresenceEvent } from "../shared/protocol.js";
import type { ProtocolName } from "../shared/transports.js";
import type { MetricInfo } from "./metric-info.js";
import type {
  GeneratorFacts,
  InstanceFacts,
  PublisherFacts,
  ReconnectFacts,
  ScenarioView,
  ServerFacts,
} from "./run-facts.js";

/**
 * A measure: one thing rtbench measures besides the per-message hot path
 * (latency, sequence, duplicates, reorder stay direct fields of the fleet
 * for speed). One object says everything about it, and the run, the result,
 * the metric names, the result schema and the report loop over the
 * registered measures (registry.ts): a new measure is one file and one row.
 *
 *   shard (child process)        parent
 *   handlers on client events -> tally -> merged over shards --+
 *                                probe: window edges, seconds --+-> result fragment
 *                                                                   -> metrics, schema, rows
 *
 * What a measure records crosses the process boundary generically
 * (measures/shard.ts): per measure, its counts (summed over shards) and
 * timings (HdrHistograms, encoded, merged as histograms): exact by
 * construction. What its probe samples in the parent reaches `result` as
 * `probe`. A measure of that kind needs no file outside its own.
 *
 * Besides those, `result` reads the run's facts (ResultContext): the
 * window's books, counters and traffic every result has, and a few facts
 * the shards and the run still carry in bespoke fields of the shard report
 * and the collected run, because they are logs or per-shard records rather
 * than counts and timings: each shard's per-instance counts (`instances`),
 * its connection log (`connections`, for the presence audit), its break log
 * (`breaks`), its reconnect and outage histograms, attempts per second and
 * break reasons (`reconnects`), the servers' zombie and write timeouts
 * (`servers`), and the workers' clocks and control traffic. A measure that
 * needs a new fact of that kind changes the fleet, the shard report and
 * load/result/result.ts too.
 */
export interface Measure<Fragment extends object = Record<string, unknown>, ProbeData = unknown> {
  /** Unique among measures; keys its part of the shard report. */
  name: string;
  /** One line: what it measures (for docs and errors). */
  description: string;
  /** What a shard records, if anything. */
  shard?: ShardSide;
  /** What the parent samples while the clients run, if anything. */
  probe?(context: ProbeContext): MeasureProbe<ProbeData>;
  /** Its part of one protocol's result: fields merged into `ProtocolResult`, names unchanged. */
  result(context: ResultContext<ProbeData>): Fragment;
  /** Its metric names (paths into one protocol's result), with unit, kind and description. */
  metrics: readonly MetricInfo[];
  /** Its properties of the result schema's `protocol` object, by field name (JSON Schema). */
  schema: Readonly<Record<string, JsonSchema>>;
  /**
   * Its rows in the result table (terminal, Markdown, HTML), if any: one
   * group, or one per place of the table its rows sit in.
   */
  rows?: MeasureRows | readonly MeasureRows[];
}

/** A measure whatever its fragment and probe data: what the registry holds. */
export type AnyMeasure = Measure<object, unknown>;

export type JsonSchema = Record<string, unknown>;

/**
 * The shard side: the names it counts and times, and handlers on the
 * clients' events that record into its tally. `handlers` is called once
 * per shard; the handlers run per connection, so they record and return
 * (no allocation).
 */
export interface ShardSide {
  counts: readonly string[];
  timings: readonly string[];
  handlers(tally: ShardTally, context: ShardContext): MeasureHandlers;
}

/** Where a measure's shard side records: counts and timings by the names it declared. */
export interface ShardTally {
  add(count: string, by?: number): void;
  /** One sample of a timing, in ms. */
  time(timing: string, ms: number): void;
}

export interface ShardContext {
  /** Monotonic ms (util/clock.ts): the measured window, for a measure that counts only inside it. */
  measureStartMs: number;
  measureEndMs: number;
  now(): number;
}

/**
 * The client events a measure can handle. Connection phases are per TCP
 * connection a subscriber opens (reconnects too); `ready` and `broke` per
 * subscriber connection.
 */
export interface MeasureHandlers {
  /** SYN -> established, ms. */
  tcp?(ms: number): void;
  /** Established -> handshake done, ms; `resumed`: an earlier session was resumed. */
  tls?(ms: number, resumed: boolean): void;
  /** Ready to send -> the server's first byte, ms (not timed for sse-h2). */
  http?(ms: number): void;
  /** A subscriber's connection became ready (first connect or reconnect). */
  ready?(nowMs: number): void;
  /** A ready connection broke, for `reason` (the client's words). */
  broke?(nowMs: number, reason: string): void;
  /** Presence events (joins, leaves) arrived in one frame (server.presenceEvents). */
  presence?(events: readonly PresenceEvent[]): void;
  /**
   * A subscriber's return from churn or from a flap of its network is over
   * (it leaves again, the network goes again, or the clients stop), and the
   * last message it missed arrived `ms` after it came back
   * (load/fleet/returns.ts); not called when none did.
   */
  caughtUp?(ms: number): void;
  /**
   * A subscriber's return from a broker fault is over (the next one ended, or
   * the clients stopped), timed from the fault's end by load/fleet/catch-up.ts:
   * `recoveredMs` until the first message sent after it arrived, `caughtUpMs`
   * until the last message sent before it arrived; null: none arrived.
   */
  brokerReturn?(
    action: BrokerFaultAction,
    recoveredMs: number | null,
    caughtUpMs: number | null,
  ): void;
  /**
   * clients.fallback: a step of a subscriber's fallback ended, before its
   * first ready: ready on `protocol` (the transport it ended on), failed
   * (a connect error, a refused upgrade or response) or timed out (no ready
   * within the step timeout). `sinceStartMs`: since its first attempt started.
   */
  fallbackStep?(protocol: string, outcome: FallbackOutcome, sinceStartMs: number): void;
  /** clients.fallback: a subscriber's first message, `ms` after its first attempt started. */
  firstMessage?(ms: number): void;
}

export type FallbackOutcome = "ready" | "failed" | "timed-out";

/** What a probe is given: when things happen, where the servers are, and whether they are rtbench's. */
export interface ProbeContext {
  timeline: Timeline;
  /** The scenario's settings that measures read. */
  scenario: ScenarioView;
  /** The server URLs the clients use. */
  urls: readonly string[];
  /** The run's channels, and where each one is asked about, in order (the next when an instance is down). */
  channels: readonly string[];
  urlsFor(channel: string): readonly string[];
  /** True when rtbench started the servers (it may read their processes); false against a target. */
  ownServers: boolean;
  /**
   * The operations of the broker's backing service so far, as the service
   * reads them itself (src/services/); null without one (the memory broker,
   * whose counts the servers report, or a target).
   */
  brokerOperations: (() => Promise<OperationCounts>) | null;
  /** The scenario's faults, as planned (which fired, and when, is the result's `faults`). */
  faults: readonly { action: string }[];
  signal: AbortSignal;
  log(line: string): void;
}

/**
 * A parent-side probe. Each hook may be async: the run waits for it, so a
 * hook takes as long as a sample does, no longer.
 */
export interface MeasureProbe<ProbeData> {
  /** At the start of the measured window. */
  windowStart?(): void | Promise<void>;
  /** At its end (or at the stop of an interrupted run). */
  windowEnd?(): void | Promise<void>;
  /** Once a second from ramp-up to the end of drain; `second` counts from ramp start. */
  second?(second: number): void;
  /** After the drain (or an abort): what the probe saw, handed to `result`. */
  finish(): ProbeData | Promise<ProbeData>;
}

/** Counts and timings merged over every shard's report. */
export interface MergedTally {
  count(name: string): number;
  timing(name: string): HistogramSummary;
}

export interface ResultContext<ProbeData> {
  tally: MergedTally;
  /** What the probe saw; null when the measure has no probe or the run did not reach it. */
  probe: ProbeData | null;
  /** The measured window (of an interrupted run: up to the stop), in seconds. */
  windowSeconds: number;
  /** Clients that became ready at least once. */
  connected: number;
  /** The transport measured (`transport(protocol)` says how it delivers). */
  protocol: ProtocolName;
  /** Deliveries over the span the traffic was counted in (per-delivery costs divide by it). */
  delivered: number;
  /**
   * The subscribers' socket and request counters over that same span, summed
   * over shards: bytes in and out, HTTP requests, empty poll answers, and the
   * TCP connections held open when the window ended.
   */
  traffic: ShardReport["window"];
  /** Messages of the window the server stored (acknowledged, or received by someone). */
  published: number;
  /** The measured window (monotonic ms), and the publisher's record of every message, per channel. */
  window: Window;
  records: readonly (readonly PublishRecord[])[];
  /** What the publisher heard back about the window's messages, as the books counted it. */
  acks: PublishAckCounts;
  /** How the publisher kept its schedule (load/publisher/publisher.ts). */
  publisher: PublisherFacts;
  /** The channels, in the order of `records`, and every subscriber's report (all shards). */
  channels: readonly string[];
  subscribers: readonly SubscriberReport[];
  /**
   * Expected and delivered over the subscribers `which` selects, by the
   * result's own books (a message stored when acknowledged or received by
   * anyone on its channel; load/result/aggregate.ts): each subscriber's
   * share, kept by the one count, summed over those `which` selects.
   */
  deliveriesAmong(which: (s: SubscriberReport) => boolean): { expected: number; delivered: number };
  /** The run's phases (monotonic ms); `rampStartMs` is the time base of `faults`. */
  timeline: Timeline;
  /** The scenario's settings that measures read. */
  scenario: ScenarioView;
  /** The faults injected during the run, as the result records them (ms from ramp start). */
  faults: ProtocolResult["faults"];
  /** The generator's processes and their worst event-loop delay. */
  generator: GeneratorFacts;
  /**
   * The saturation verdict (load/result/result-verdicts.ts), reached before
   * the measures from the books and the processes' load: who saturated, and why.
   */
  saturation: NonNullable<ProtocolResult["saturation"]>;
  /** The clients' counters (metrics/counters.ts), summed over shards. */
  counters: Counters;
  /** What the shards saw of breaks and the returns from them. */
  reconnects: ReconnectFacts;
  /** When the subscribers noticed breaks (monotonic ms) and on which server URL (index): each shard's first BREAK_LOG_LIMIT. */
  breaks: readonly (readonly [atMs: number, urlIndex: number])[];
  /** The servers under test as the parent saw them. */
  servers: ServerFacts;
  /** The server instances the clients were spread over, and what the shards and the parent saw of each. */
  instances: InstanceFacts;
  /** When presence is sampled (the shards then log connections): when each client was connected; else empty. */
  connections: readonly ConnectionLog[];
  /** Shards that died or did not report, and whole workers lost (each says how many clients it had), with why. */
  missing: {
    shards: readonly { name: string; reason: string }[];
    workers: readonly { name: string; reason: string; lostClients: number }[];
  };
  /** With workers: each one's clock offset and bound; null when the clients ran on this host. */
  clocks: readonly WorkerClock[] | null;
  /** With workers: what their control connections cost the coordinator; null on one host. */
  controlTraffic: ControlTraffic | null;
}

/**
 * A measure's rows in the result table, placed after the row labelled
 * `after`, a table row or an earlier measure's (at the end when no row has
 * that label). The table, the Markdown and the HTML report all show them.
 */
export interface MeasureRows {
  after?: string;
  rows: readonly MeasureRow[];
}

/**
 * A row reads one protocol's result, the measure's own fields included
 * (MeasureResults); results written before the measure existed lack them.
 */
export interface MeasureRow {
  label: string;
  /** The cell's number. null: not measured (shown "n/a"); undefined: nothing to show (shown "-"). */
  value?(result: ProtocolResult): number | null | undefined;
  /** Instead of `value`, numbers shown as one cell "a/b" (3/10: stuck of all); null: "n/a". */
  values?(result: ProtocolResult): readonly number[] | null;
  /** `number`: 3 significant digits (the default); `count`: every digit. */
  format?: "number" | "count";
  /** Shown only when some protocol of the result makes it interesting. */
  when?(result: ProtocolResult): boolean;
}
