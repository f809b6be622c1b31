import type { HistogramSummary, ProtocolResult } from "../metrics/types.js";
import type { BrokerFaultAction } from "../shared/brokers.js";
import type { JsonSchema, Measure, MeasureRow } from "./measure.js";
import type { MetricInfo } from "./metric-info.js";
import { histogramMetrics, histogramStat } from "./metric-info.js";

/**
 * How the subscribers came back from each broker fault (broker-freeze,
 * broker-stop, broker-restart), timed per subscriber from the fault's end
 * (the service thawed, started again or restarted: load/faults/faults.ts
 * tells the shards) by the machinery that times a return from churn
 * (load/fleet/catch-up.ts):
 *
 * - recover: the fault's end -> the first message sent after it arrived
 *   (delivery of new messages works again);
 * - replay: the fault's end -> the last message sent before it arrived
 *   (what the fault held up or the subscriber missed, from the broker's
 *   history or a resumed reconnect); no sample when nothing was held up.
 *
 * A subscriber's return from a fault ends at the next fault's end or when
 * the clients stop; several faults of one kind share their histograms.
 */
export interface BrokerRecovery {
  /** Subscribers that had connected when the fault ended: each one's return was timed. */
  subscribers: number;
  /** Of them, those that got no message sent after the fault's end before the next fault or the run's end. */
  notRecovered: number;
  recover: HistogramSummary;
  replay: HistogramSummary;
}

const KINDS = [
  ["broker-freeze", "freeze"],
  ["broker-stop", "stop"],
  ["broker-restart", "restart"],
] as const satisfies readonly (readonly [BrokerFaultAction, string])[];

type Kind = (typeof KINDS)[number][1];

const KIND_OF: Record<BrokerFaultAction, Kind> = Object.fromEntries(KINDS) as Record<
  BrokerFaultAction,
  Kind
>;

export interface BrokerRecoveryResult {
  /** By kind of broker fault, those that ended in the run; absent: none did (or an older result). */
  brokerRecovery?: Partial<Record<Kind, BrokerRecovery>>;
}

declare module "../metrics/types.js" {
  interface MeasureResults extends BrokerRecoveryResult {}
}

const RECOVER = "recover: a broker fault's end -> the first message sent after it arrived";
const REPLAY = "replay: a broker fault's end -> the last message sent before it arrived";

function kindMetrics(kind: Kind): MetricInfo[] {
  const at = `brokerRecovery.${kind}`;
  return [
    ...histogramMetrics(`${at}.recover`, `broker-${kind}, ${RECOVER}`),
    ...histogramMetrics(`${at}.replay`, `broker-${kind}, ${REPLAY}`),
    {
      path: `${at}.subscribers`,
      unit: "count",
      kind: "count",
      better: null,
      description: `broker-${kind}: subscribers whose return from it was timed (connected before it ended)`,
    },
    {
      path: `${at}.notRecovered`,
      unit: "count",
      kind: "exact",
      better: "lower",
      description: `broker-${kind}: subscribers that got no message sent after its end (before the next broker fault or the run's end)`,
    },
  ];
}

const KIND_SCHEMA: JsonSchema = {
  type: "object",
  required: ["subscribers", "notRecovered", "recover", "replay"],
  properties: {
    subscribers: { type: "integer", minimum: 0 },
    notRecovered: { type: "integer", minimum: 0 },
    recover: {
      description: `per subscriber, ${RECOVER} (ms)`,
      $ref: "#/definitions/histogram",
    },
    replay: {
      description: `per subscriber that had something held up or missed, ${REPLAY} (ms)`,
      $ref: "#/definitions/histogram",
    },
  },
};

const recoveryOf = (r: ProtocolResult, kind: Kind) => r.brokerRecovery?.[kind];

function kindRows(kind: Kind): MeasureRow[] {
  const when = (r: ProtocolResult) => recoveryOf(r, kind) !== undefined;
  const timing = (field: "recover" | "replay", at: "p50" | "p99" | "max") => (r: ProtocolResult) =>
    histogramStat(recoveryOf(r, kind)?.[field], at);
  // The table's labels are 28 characters wide: the kind comes last, as in "(freeze)".
  return [
    { label: `recover p50 ms (${kind})`, value: timing("recover", "p50"), when },
    { label: `recover p99 ms (${kind})`, value: timing("recover", "p99"), when },
    { label: `recover max ms (${kind})`, value: timing("recover", "max"), when },
    { label: `replay p99 ms (${kind})`, value: timing("replay", "p99"), when },
    {
      label: `not recovered (${kind})`,
      value: (r) => recoveryOf(r, kind)?.notRecovered,
      format: "count",
      when,
    },
  ];
}

export const brokerRecovery: Measure<BrokerRecoveryResult> = {
  name: "broker-recovery",
  description:
    "per broker fault kind: its end -> the first new message (recover) and the last held-up one (replay) arrived",
  shard: {
    counts: KINDS.flatMap(([, kind]) => [`returns.${kind}`, `unrecovered.${kind}`]),
    timings: KINDS.flatMap(([, kind]) => [`recover.${kind}`, `replay.${kind}`]),
    handlers: (tally) => ({
      brokerReturn: (action, recoveredMs, caughtUpMs) => {
        const kind = KIND_OF[action];
        tally.add(`returns.${kind}`);
        if (recoveredMs === null) tally.add(`unrecovered.${kind}`);
        else tally.time(`recover.${kind}`, recoveredMs);
        if (caughtUpMs !== null) tally.time(`replay.${kind}`, caughtUpMs);
      },
    }),
  },
  result: ({ tally }) => {
    const byKind: Partial<Record<Kind, BrokerRecovery>> = {};
    for (const [, kind] of KINDS) {
      const subscribers = tally.count(`returns.${kind}`);
      if (subscribers === 0) continue;
      byKind[kind] = {
        subscribers,
        notRecovered: tally.count(`unrecovered.${kind}`),
        recover: tally.timing(`recover.${kind}`),
        replay: tally.timing(`replay.${kind}`),
      };
    }
    return Object.keys(byKind).length > 0 ? { brokerRecovery: byKind } : {};
  },
  metrics: KINDS.flatMap(([, kind]) => kindMetrics(kind)),
  schema: {
    brokerRecovery: {
      description:
        "how the subscribers came back from each kind of broker fault that ended in the run, timed per subscriber from the fault's end (the broker thawed, started again or restarted). Absent when none ended, and in older results.",
      type: "object",
      additionalProperties: false,
      properties: Object.fromEntries(KINDS.map(([, kind]) => [kind, KIND_SCHEMA])),
    },
  },
  rows: {
    after: "gap markers",
    rows: KINDS.flatMap(([, kind]) => kindRows(kind)),
  },
};
