import type { PublishAckCounts } from "../run-model/publish-record.js";
import type { Measure } from "./measure.js";

/**
 * The publisher's side of the window: what it heard back about the
 * window's messages (counted in the result's books, load/result/aggregate.ts)
 * and how it kept its open-model schedule (load/publisher/publisher.ts).
 * The time each acknowledgement took is the publish-ack measure's.
 */
export interface PublisherResult {
  /** What the publisher heard back about the window's messages. */
  publishAcks?: PublishAckCounts;
  /** How the publisher kept its open-model schedule. */
  publisher?: {
    /** The scenario's cap on publishes waiting for an answer at once. */
    maxInFlight: number;
    /** The most that waited at once. */
    peakInFlight: number;
    ackTimeoutMs: number;
    /**
     * How far sends fell behind schedule, at worst, because all `maxInFlight`
     * were waiting for answers: the schedule could not be kept (0 when it was).
     */
    maxSlotWaitMs: number;
    /** Scheduled messages never sent: the run ended (or stopped) first. */
    notSent: number;
    /** Why publishes were refused, first few reasons, with how often and the first error's words. */
    refusals: { reason: string; count: number; example: string }[];
  };
}

declare module "../metrics/types.js" {
  interface MeasureResults extends PublisherResult {}
}

const COUNT = { type: "integer", minimum: 0 };

export const publisher: Measure<PublisherResult> = {
  name: "publisher",
  description:
    "what the publisher heard back about the window's messages, and how it kept its schedule",
  result: ({ acks, publisher, scenario }) => ({
    publishAcks: acks,
    publisher: {
      maxInFlight: scenario.publish.maxInFlight,
      peakInFlight: publisher.peakInFlight,
      ackTimeoutMs: scenario.publish.ackTimeoutMs,
      maxSlotWaitMs: publisher.maxSlotWaitMs,
      notSent: publisher.notSent,
      refusals: [...publisher.refusals].map(([reason, e]) => ({ reason, ...e })),
    },
  }),
  metrics: [
    {
      path: "publishAcks.late",
      unit: "count",
      kind: "count",
      better: "lower",
      description: "publishes acknowledged after publish.ackTimeout (the server was behind)",
    },
    {
      path: "publishAcks.unanswered",
      unit: "count",
      kind: "count",
      better: "lower",
      description: "publishes never acknowledged by the end of the run",
    },
    {
      path: "publisher.maxSlotWaitMs",
      unit: "ms",
      kind: "timing",
      better: "lower",
      description:
        "how far sends fell behind schedule because every publish slot waited for an answer",
    },
    {
      path: "publisher.notSent",
      unit: "count",
      kind: "count",
      better: "lower",
      description: "scheduled messages never sent",
    },
  ],
  schema: {
    publishAcks: {
      description: "What the publisher heard back about the window's messages.",
      type: "object",
      required: ["inTime", "late", "unanswered", "refused", "storedUnacknowledged"],
      properties: {
        inTime: COUNT,
        late: COUNT,
        unanswered: COUNT,
        refused: COUNT,
        storedUnacknowledged: COUNT,
      },
    },
    publisher: {
      description:
        "How the publisher kept its open-model schedule: the cap on publishes in flight, the most in flight, how far sends fell behind because every slot waited for an answer, messages never sent, and why publishes were refused.",
      type: "object",
      required: [
        "maxInFlight",
        "peakInFlight",
        "ackTimeoutMs",
        "maxSlotWaitMs",
        "notSent",
        "refusals",
      ],
      properties: {
        maxInFlight: { type: "integer", minimum: 1 },
        peakInFlight: COUNT,
        ackTimeoutMs: { type: "number" },
        maxSlotWaitMs: { type: "number" },
        notSent: COUNT,
        refusals: {
          type: "array",
          items: {
            type: "object",
            properties: {
              reason: { type: "string" },
              count: { type: "integer" },
              example: { type: "string" },
            },
          },
        },
      },
    },
  },
  rows: {
    after: "publish failed",
    rows: [
      {
        label: "publish acks late",
        value: (p) => p.publishAcks?.late ?? null,
        format: "count",
        when: (p) => (p.publishAcks?.late ?? 0) > 0,
      },
      {
        label: "publish never acked",
        value: (p) => p.publishAcks?.unanswered ?? null,
        format: "count",
        when: (p) => (p.publishAcks?.unanswered ?? 0) > 0,
      },
      {
        label: "sends behind schedule ms",
        value: (p) => p.publisher?.maxSlotWaitMs ?? null,
        when: (p) => (p.publisher?.maxSlotWaitMs ?? 0) > 0,
      },
    ],
  },
};
