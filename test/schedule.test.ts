import { deflateRawSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import {
  dueRange,
  type Schedule,
  scheduledMessage,
  scheduleLength,
} from "../src/load/publisher/schedule.js";
import { buildBody, readStamp } from "../src/load/publisher/stamp.js";
import { assignClients, channelNames } from "../src/load/shards/assign.js";

/** The obvious version: walk time forward message by message. */
function naiveSchedule(schedule: Schedule) {
  const out: { channelIndex: number; seq: number; dueMs: number }[] = [];
  const perChannel = new Array(schedule.channels).fill(0);
  for (let i = 0; ; i++) {
    const dueMs = schedule.startMs + (i * 1000) / schedule.ratePerSec;
    if (dueMs >= schedule.endMs) break;
    const channelIndex = i % schedule.channels;
    perChannel[channelIndex]++;
    out.push({ channelIndex, seq: perChannel[channelIndex], dueMs });
  }
  return out;
}

describe("arrival schedule", () => {
  const cases: Schedule[] = [
    { startMs: 1000, endMs: 11_000, ratePerSec: 20, channels: 10 },
    { startMs: 0, endMs: 10_000, ratePerSec: 0.5, channels: 20 },
    { startMs: 5.5, endMs: 3005.5, ratePerSec: 333, channels: 7 },
    { startMs: 0, endMs: 999, ratePerSec: 1, channels: 1 },
    { startMs: 0, endMs: 0, ratePerSec: 10, channels: 1 },
    // Fractional clock readings whose difference is a hair over 1,500 ms: 30 messages, not 31.
    { startMs: 548.2011158752637, endMs: 548.2011158752637 + 1500, ratePerSec: 20, channels: 2 },
    // ... and a hair under 11,000 ms while message 11 is still due before the end: 12, not 11.
    { startMs: 1110.9576857726288, endMs: 12110.95768577263, ratePerSec: 1, channels: 1 },
  ];

  it.each(cases)("matches the naive walk for %o", (schedule) => {
    const expected = naiveSchedule(schedule);
    expect(scheduleLength(schedule)).toBe(expected.length);
    expected.forEach((message, i) => {
      const actual = scheduledMessage(schedule, i);
      expect(actual.channelIndex).toBe(message.channelIndex);
      expect(actual.seq).toBe(message.seq);
      expect(actual.dueMs).toBeCloseTo(message.dueMs, 9);
    });
  });

  it("counts the naive walk's messages for fractional clock readings of any kind", () => {
    // Starts as a monotonic clock gives them (fractional), ends a whole number
    // of intervals later, give or take the last bit.
    for (let i = 0; i < 20_000; i++) {
      const startMs = (i * 7919.123456789) % 100_000;
      const ratePerSec = [1, 3, 7, 20, 333, 1000][i % 6] as number;
      const endMs = startMs + ((i % 50) * 1000) / ratePerSec;
      const nudge = ([0, 1, -1, 1e6][i % 4] as number) * Number.EPSILON * endMs;
      const schedule: Schedule = { startMs, endMs: endMs + nudge, ratePerSec, channels: 3 };
      expect(scheduleLength(schedule), JSON.stringify(schedule)).toBe(
        naiveSchedule(schedule).length,
      );
    }
  });

  it("dueRange counts a message due at the very time it is asked, with fractional clocks", () => {
    for (let i = 0; i < 20_000; i++) {
      const startMs = (i * 7919.123456789) % 100_000;
      const ratePerSec = [1, 3, 7, 20, 333, 1000][i % 6] as number;
      const schedule: Schedule = { startMs, endMs: startMs + 60_000, ratePerSec, channels: 3 };
      const index = i % 50;
      const { dueMs } = scheduledMessage(schedule, index);
      expect(dueRange(schedule, 0, dueMs), JSON.stringify({ schedule, index })).toEqual([
        0,
        index + 1,
      ]);
    }
  });

  it("dueRange returns exactly the messages due by a time, never past the end", () => {
    const schedule: Schedule = { startMs: 100, endMs: 1100, ratePerSec: 10, channels: 3 };
    expect(dueRange(schedule, 0, 99)).toEqual([0, 0]);
    expect(dueRange(schedule, 0, 100)).toEqual([0, 1]);
    expect(dueRange(schedule, 1, 399.9)).toEqual([1, 3]);
    expect(dueRange(schedule, 3, 400)).toEqual([3, 4]);
    expect(dueRange(schedule, 4, 1_000_000)).toEqual([4, 10]);
    // A caller that is ahead of the clock is never sent backwards.
    expect(dueRange(schedule, 7, 300)).toEqual([7, 7]);
  });
});

describe("client assignment", () => {
  it("spreads clients evenly over channels and round-robin over servers, reproducibly", () => {
    const channels = channelNames("room-", 7);
    const urls = ["http://a", "http://b", "http://c"];
    const assign = (seed: number) =>
      assignClients({ count: 100, channelNames: channels, baseUrls: urls, seed });
    const clients = assign(42);
    const perChannel = new Map<string, number>();
    for (const c of clients) perChannel.set(c.channel, (perChannel.get(c.channel) ?? 0) + 1);
    expect([...perChannel.values()].sort()).toEqual([14, 14, 14, 14, 14, 15, 15]);
    expect(clients.filter((c) => c.baseUrl === "http://a")).toHaveLength(34);
    expect(assign(42)).toEqual(clients);
    expect(assign(43)).not.toEqual(clients);
  });
});

describe("message stamp", () => {
  it("pads the body to the payload size and reads back", () => {
    for (const payload of ["text", "random"] as const) {
      for (const payloadBytes of [128, 256, 1000, 4096]) {
        const body = buildBody("room-12", 345, 123456.789, 123457.5, payloadBytes, payload);
        expect(Buffer.byteLength(JSON.stringify(body))).toBe(payloadBytes);
        expect(readStamp(body)).toMatchObject({ seq: 345, sch: 123456.789, snt: 123457.5 });
      }
    }
    // Text compresses, random does not: what publish.payload is for.
    const size = (payload: "text" | "random") =>
      deflateRawSync(JSON.stringify(buildBody("c", 1, 1, 1, 4096, payload))).length;
    expect(size("text")).toBeLessThan(4096 / 10);
    expect(size("random")).toBeGreaterThan(4096 * 0.7);
    expect(readStamp({ hello: 1 })).toBeNull();
    expect(readStamp("text")).toBeNull();
  });
});
