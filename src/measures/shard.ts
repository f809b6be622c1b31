import {
  createLatencyHistogram,
  encodeHistogram,
  type LatencyHistogram,
  recordMs,
} from "../metrics/histogram.js";
import type { MeasurePart } from "../run-model/shard-report.js";
import type { BrokerFaultAction } from "../shared/brokers.js";
import type { PresenceEvent } from "../shared/protocol.js";
import type {
  AnyMeasure,
  FallbackOutcome,
  MeasureHandlers,
  ShardContext,
  ShardTally,
} from "./measure.js";

/**
 * The measures' side of one shard: each measure's tally, and its handlers
 * grouped by event, so the fleet passes an event on to exactly the measures
 * that asked for it. The fleet gives the client context this object as its
 * connection-phase recorder (clients/tls.ts ConnectPhaseRecorder).
 */
export class ShardMeasures {
  private readonly tallies: [name: string, tally: Tally][] = [];
  private readonly onTcp: MeasureHandlers[] = [];
  private readonly onTls: MeasureHandlers[] = [];
  private readonly onHttp: MeasureHandlers[] = [];
  private readonly onReady: MeasureHandlers[] = [];
  private readonly onBroke: MeasureHandlers[] = [];
  private readonly onPresence: MeasureHandlers[] = [];
  private readonly onFallbackStep: MeasureHandlers[] = [];
  private readonly onFirstMessage: MeasureHandlers[] = [];
  private readonly onBrokerReturn: MeasureHandlers[] = [];
  private readonly onCaughtUp: MeasureHandlers[] = [];

  constructor(list: readonly AnyMeasure[], context: ShardContext) {
    for (const measure of list) {
      if (!measure.shard) continue;
      const tally = new Tally(measure.name, measure.shard.counts, measure.shard.timings);
      this.tallies.push([measure.name, tally]);
      const handlers = measure.shard.handlers(tally, context);
      if (handlers.tcp) this.onTcp.push(handlers);
      if (handlers.tls) this.onTls.push(handlers);
      if (handlers.http) this.onHttp.push(handlers);
      if (handlers.ready) this.onReady.push(handlers);
      if (handlers.broke) this.onBroke.push(handlers);
      if (handlers.presence) this.onPresence.push(handlers);
      if (handlers.fallbackStep) this.onFallbackStep.push(handlers);
      if (handlers.firstMessage) this.onFirstMessage.push(handlers);
      if (handlers.brokerReturn) this.onBrokerReturn.push(handlers);
      if (handlers.caughtUp) this.onCaughtUp.push(handlers);
    }
  }

  tcp(ms: number): void {
    for (const h of this.onTcp) h.tcp?.(ms);
  }

  tls(ms: number, resumed: boolean): void {
    for (const h of this.onTls) h.tls?.(ms, resumed);
  }

  http(ms: number): void {
    for (const h of this.onHttp) h.http?.(ms);
  }

  ready(nowMs: number): void {
    for (const h of this.onReady) h.ready?.(nowMs);
  }

  broke(nowMs: number, reason: string): void {
    for (const h of this.onBroke) h.broke?.(nowMs, reason);
  }

  presence(events: readonly PresenceEvent[]): void {
    for (const h of this.onPresence) h.presence?.(events);
  }

  fallbackStep(protocol: string, outcome: FallbackOutcome, sinceStartMs: number): void {
    for (const h of this.onFallbackStep) h.fallbackStep?.(protocol, outcome, sinceStartMs);
  }

  firstMessage(ms: number): void {
    for (const h of this.onFirstMessage) h.firstMessage?.(ms);
  }

  brokerReturn(
    action: BrokerFaultAction,
    recoveredMs: number | null,
    caughtUpMs: number | null,
  ): void {
    for (const h of this.onBrokerReturn) h.brokerReturn?.(action, recoveredMs, caughtUpMs);
  }

  caughtUp(ms: number): void {
    for (const h of this.onCaughtUp) h.caughtUp?.(ms);
  }

  /** Every measure's part of the shard report: plain JSON, histograms encoded. */
  report(): Record<string, MeasurePart> {
    return Object.fromEntries(this.tallies.map(([name, tally]) => [name, tally.part()]));
  }
}

class Tally implements ShardTally {
  private readonly counts: Record<string, number> = {};
  private readonly timings = new Map<string, LatencyHistogram>();

  constructor(
    private readonly measure: string,
    counts: readonly string[],
    timings: readonly string[],
  ) {
    for (const name of counts) this.counts[name] = 0;
    for (const name of timings) this.timings.set(name, createLatencyHistogram());
  }

  add(count: string, by = 1): void {
    const now = this.counts[count];
    if (now === undefined)
      throw new Error(`measure ${this.measure} did not declare count ${count}`);
    this.counts[count] = now + by;
  }

  time(timing: string, ms: number): void {
    const h = this.timings.get(timing);
    if (h === undefined)
      throw new Error(`measure ${this.measure} did not declare timing ${timing}`);
    recordMs(h, ms);
  }

  part(): MeasurePart {
    const timings: Record<string, string> = {};
    for (const [name, h] of this.timings) timings[name] = encodeHistogram(h);
    return { counts: { ...this.counts }, timings };
  }
}
