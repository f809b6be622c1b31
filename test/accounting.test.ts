import { describe, expect, it } from "vitest";
import { countDeliveries, deliveriesAmong } from "../src/load/result/aggregate.js";
import { publishAckLatency } from "../src/measures/publish-ack.js";
import { zeroCounters } from "../src/metrics/counters.js";
import { SeqTracker } from "../src/metrics/seq-tracker.js";
import type { PublishOutcome, PublishRecord } from "../src/run-model/publish-record.js";
import type { ShardReport } from "../src/run-model/shard-report.js";
import { seededRandom } from "../src/util/random.js";

/**
 * The books of a run, as a pure function: publisher records and what the
 * subscribers received in, published / failed / expected / delivered / lost
 * out. One channel "c", the window is [1000, 2000).
 */
const WINDOW = { startMs: 1000, endMs: 2000 };

/** Message `seq` due (and sent) at 1000 + seq * 100, with the outcome given. */
function record(seq: number, outcome: PublishOutcome, ackMs: number | null = null): PublishRecord {
  return { seq, dueMs: 1000 + seq * 100, sentMs: 1000 + seq * 100, ackMs, outcome };
}

function subscriber(
  received: number[],
  firstReadyMs: number | null = 0,
): ShardReport["subscribers"][number] {
  const tracker = new SeqTracker();
  for (const seq of received) tracker.add(seq);
  return { channel: "c", firstReadyMs, received: tracker.toJSON() };
}

function report(subscribers: ShardReport["subscribers"]): ShardReport {
  return {
    type: "report",
    subscribers,
    latency: "",
    latencyFromSend: "",
    connect: "",
    measures: {},
    reconnect: "",
    outage: "",
    counters: zeroCounters(),
    attemptsPerSecond: {},
    breakLog: [],
    window: { bytesIn: 0, bytesOut: 0, requests: 0, emptyPolls: 0, socketsOpen: 0 },
    eventLoopDelayP99Ms: 0,
    load: null,
    connectErrors: [],
    breakReasons: [],
    instances: { deliveries: [0], connections: [0] },
    timeline: {
      deliveries: [],
      received: [],
      latency: [],
      breaks: [],
      reconnects: [],
      attempts: [],
      connected: [],
      connectedMin: [],
      requests: [],
      bytesIn: [],
      bytesOut: [],
      loopDelayP99Ms: [],
      uncountedReceipts: [],
    },
  };
}

interface Case {
  name: string;
  records: PublishRecord[];
  subscribers: ShardReport["subscribers"];
  expect: {
    published: number;
    publishFailed: number;
    expected: number;
    delivered: number;
    lost: number;
    late?: number;
    unanswered?: number;
    refused?: number;
    storedUnacknowledged?: number;
  };
}

const CASES: Case[] = [
  {
    name: "acknowledged in time and received by both: nothing lost",
    records: [record(1, "acked", 3), record(2, "acked", 4)],
    subscribers: [subscriber([1, 2]), subscriber([1, 2])],
    expect: { published: 2, publishFailed: 0, expected: 4, delivered: 4, lost: 0 },
  },
  {
    name: "acknowledged late (a slow server) and received: stored, expected, delivered",
    records: [record(1, "late", 6000), record(2, "late", 6000)],
    subscribers: [subscriber([1, 2]), subscriber([1, 2])],
    expect: { published: 2, publishFailed: 0, expected: 4, delivered: 4, lost: 0, late: 2 },
  },
  {
    name: "never acknowledged but received by everyone: the stamp proves it was stored",
    records: [record(1, "unanswered"), record(2, "unanswered")],
    subscribers: [subscriber([1, 2]), subscriber([1, 2])],
    expect: {
      published: 2,
      publishFailed: 0,
      expected: 4,
      delivered: 4,
      lost: 0,
      unanswered: 2,
      storedUnacknowledged: 2,
    },
  },
  {
    name: "never acknowledged, received by one subscriber: the other lost it",
    records: [record(1, "unanswered")],
    subscribers: [subscriber([1]), subscriber([])],
    expect: { published: 1, publishFailed: 0, expected: 2, delivered: 1, lost: 1 },
  },
  {
    name: "never acknowledged and received by no one: failed, not expected",
    records: [record(1, "acked", 2), record(2, "unanswered")],
    subscribers: [subscriber([1]), subscriber([1])],
    expect: { published: 1, publishFailed: 1, expected: 2, delivered: 2, lost: 0 },
  },
  {
    name: "refused (an error status) yet delivered: stored anyway",
    records: [record(1, "refused")],
    subscribers: [subscriber([1])],
    expect: {
      published: 1,
      publishFailed: 0,
      expected: 1,
      delivered: 1,
      lost: 0,
      refused: 1,
      storedUnacknowledged: 1,
    },
  },
  {
    name: "refused and received by no one: failed",
    records: [record(1, "refused")],
    subscribers: [subscriber([])],
    expect: { published: 0, publishFailed: 1, expected: 0, delivered: 0, lost: 0, refused: 1 },
  },
  {
    name: "still pending when the books close: unanswered, stored if received",
    records: [record(1, "pending"), record(2, "pending")],
    subscribers: [subscriber([2])],
    expect: { published: 1, publishFailed: 1, expected: 1, delivered: 1, lost: 0, unanswered: 2 },
  },
  {
    name: "acknowledged but lost by one subscriber",
    records: [record(1, "acked", 1), record(2, "acked", 1), record(3, "acked", 1)],
    subscribers: [subscriber([1, 2, 3]), subscriber([1, 3])],
    expect: { published: 3, publishFailed: 0, expected: 6, delivered: 5, lost: 1 },
  },
  {
    name: "a subscriber ready after a send is not expected to receive it",
    records: [record(1, "acked", 1), record(2, "unanswered"), record(3, "acked", 1)],
    // Ready at 1250: after message 2's send (1200), before message 3's (1300).
    subscribers: [subscriber([1, 2, 3]), subscriber([3], 1250)],
    expect: { published: 3, publishFailed: 0, expected: 4, delivered: 4, lost: 0 },
  },
  {
    name: "a subscriber that never connected expects nothing, but what it got still proves storage",
    records: [record(1, "unanswered")],
    subscribers: [subscriber([1]), subscriber([], null)],
    expect: { published: 1, publishFailed: 0, expected: 1, delivered: 1, lost: 0 },
  },
  {
    name: "messages scheduled outside the window are not in its books",
    records: [
      { seq: 1, dueMs: 900, sentMs: 900, ackMs: null, outcome: "unanswered" },
      record(2, "acked", 1),
      { seq: 3, dueMs: 2000, sentMs: 2000, ackMs: null, outcome: "unanswered" },
    ],
    subscribers: [subscriber([1, 2, 3])],
    expect: { published: 1, publishFailed: 0, expected: 1, delivered: 1, lost: 0 },
  },
];

describe("the books: countDeliveries", () => {
  for (const c of CASES) {
    it(c.name, () => {
      const counts = countDeliveries(["c"], [c.records], [report(c.subscribers)], WINDOW);
      const { late, unanswered, refused, storedUnacknowledged, ...main } = c.expect;
      expect(counts).toMatchObject(main);
      const acks = { late, unanswered, refused, storedUnacknowledged };
      for (const [key, value] of Object.entries(acks)) {
        if (value !== undefined) expect(counts.acks[key as keyof typeof acks], key).toBe(value);
      }
    });
  }

  it("never says published 0 with deliveries, over many random books", () => {
    const random = seededRandom(7);
    const outcomes: PublishOutcome[] = ["acked", "late", "refused", "unanswered", "pending"];
    for (let trial = 0; trial < 300; trial++) {
      const records = Array.from({ length: 1 + Math.floor(random() * 8) }, (_, i) =>
        record(i + 1, outcomes[Math.floor(random() * outcomes.length)] as PublishOutcome, 1),
      );
      const subscribers = Array.from({ length: 1 + Math.floor(random() * 3) }, () =>
        subscriber(
          records.filter(() => random() < 0.5).map((r) => r.seq),
          random() < 0.8 ? 0 : 1000 + random() * 1000,
        ),
      );
      // Spread over two shards: storage proven in one counts for the other.
      const counts = countDeliveries(
        ["c"],
        [records],
        [report(subscribers.slice(0, 1)), report(subscribers.slice(1))],
        WINDOW,
      );
      const received = subscribers.some((s) => s.received.length > 0);
      if (received) expect(counts.published).toBeGreaterThan(0);
      expect(counts.delivered + counts.lost).toBe(counts.expected);
      expect(counts.published + counts.publishFailed).toBe(records.length);
      // The subscribers' own shares add up to the books.
      expect(deliveriesAmong(counts.bySubscriber, () => true)).toEqual({
        expected: counts.expected,
        delivered: counts.delivered,
      });
    }
  });

  it("keeps each subscriber's share, in report order, so a subset's is a sum", () => {
    const records = [1, 2, 3, 4, 5].map((seq) => record(seq, "acked", 1));
    // All five; ready once 1..3 were sent (4 and 5 expected), got 4; never ready.
    const first = [subscriber([1, 2, 3, 4, 5]), subscriber([4], 1350), subscriber([], null)];
    // Missed 2; on a channel the run did not publish to.
    const second = [subscriber([1, 3, 4, 5]), { ...subscriber([1]), channel: "elsewhere" }];
    const counts = countDeliveries(["c"], [records], [report(first), report(second)], WINDOW);
    const { bySubscriber } = counts;
    expect(bySubscriber.subscribers).toEqual([...first, ...second]);
    expect([...bySubscriber.expected]).toEqual([5, 2, 0, 5, 0]);
    expect([...bySubscriber.delivered]).toEqual([5, 1, 0, 4, 0]);
    const picked = new Set([first[1], second[0]]);
    expect(deliveriesAmong(bySubscriber, (s) => picked.has(s))).toEqual({
      expected: 7,
      delivered: 5,
    });
    expect(deliveriesAmong(bySubscriber, () => false)).toEqual({ expected: 0, delivered: 0 });
  });

  it("records acknowledgement latency, late ones included, in the publishAck histogram", () => {
    const records = [record(1, "acked", 4), record(2, "late", 6000), record(3, "unanswered")];
    const ack = publishAckLatency([records], WINDOW);
    expect(ack.count).toBe(2);
    expect(ack.min).toBeCloseTo(4, 1);
    expect(ack.max).toBeGreaterThanOrEqual(5990);
  });
});
