import { afterEach, describe, expect, it } from "vitest";
import { createHttpPublisher, type Publisher } from "../src/clients/publishers.js";
import { createClientContext } from "../src/clients/types.js";
import { createWebSocketPublisher } from "../src/clients/ws-publisher.js";
import { PublisherLoop } from "../src/load/publisher/publisher.js";
import { monoMs } from "../src/util/clock.js";
import { startToyServer, type ToyServer } from "./helpers/toy-server.js";

/**
 * The publisher keeps its schedule whatever the server does: publishes
 * never wait for each other's answers, up to `maxInFlight`, and every one
 * is accounted for by the end. Against a server written in the test that
 * acknowledges each publish 500 ms late.
 */
let toy: ToyServer;
let publishers: Publisher[] = [];
afterEach(async () => {
  await Promise.all(publishers.map((p) => p.close()));
  publishers = [];
  await toy.close();
});

const makers = {
  http: (url: string) =>
    createHttpPublisher(url, { connections: 100, context: createClientContext() }),
  websocket: (url: string) => createWebSocketPublisher(url, { context: createClientContext() }),
};

describe("publishers never serialise behind a slow acknowledgement", () => {
  for (const [via, make] of Object.entries(makers)) {
    it(`${via}: ten publishes at once are all answered after one delay, not ten`, async () => {
      toy = await startToyServer({ ackDelayMs: 500 });
      const publisher = make(toy.url);
      publishers.push(publisher);
      const startedMs = monoMs();
      const ids = await Promise.all(
        Array.from({ length: 10 }, (_, i) => publisher.publish("c", { n: i })),
      );
      expect(ids.map((r) => Number(r.id)).sort((a, b) => a - b)).toEqual([
        1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
      ]);
      expect(monoMs() - startedMs).toBeLessThan(1500);
    });
  }
});

describe("PublisherLoop", () => {
  it("sends on schedule up to maxInFlight, says how far the cap put it behind, and closes the books", async () => {
    toy = await startToyServer({ ackDelayMs: 500 });
    const publisher = makers.http(toy.url);
    publishers.push(publisher);
    const startMs = monoMs() + 50;
    const loop = new PublisherLoop({
      // 20/s for 1 s: 20 messages, 10 per channel.
      schedule: { startMs, endMs: startMs + 1000, ratePerSec: 20, channels: 2 },
      channels: ["a", "b"],
      publishers: [publisher],
      payloadBytes: 200,
      ackTimeoutMs: 400,
      maxInFlight: 5,
    });
    await loop.run(new AbortController().signal);
    await loop.finish(monoMs() + 2000);
    const records = loop.records.flat();
    expect(records).toHaveLength(20);
    expect(loop.notSent).toBe(0);
    expect(loop.peakInFlight).toBe(5);
    // Five answers take 500 ms, so from the sixth on sends waited for a slot.
    expect(loop.maxSlotWaitMs).toBeGreaterThan(100);
    // Answered after 500 ms with a 400 ms timeout: late, not failed.
    expect(records.every((r) => r.outcome === "late")).toBe(true);
    expect(records.every((r) => (r.ackMs ?? 0) >= 490)).toBe(true);
    expect(loop.records[0]?.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it("does not judge how far behind sends before the measured window were", async () => {
    toy = await startToyServer({ ackDelayMs: 500 });
    const publisher = makers.http(toy.url);
    publishers.push(publisher);
    const startMs = monoMs() + 50;
    const loop = new PublisherLoop({
      // As above, every send from the sixth on waits for a slot, but all before the window.
      schedule: { startMs, endMs: startMs + 1000, ratePerSec: 20, channels: 2 },
      channels: ["a", "b"],
      publishers: [publisher],
      payloadBytes: 200,
      ackTimeoutMs: 400,
      maxInFlight: 5,
      judgedFromMs: startMs + 1000,
    });
    await loop.run(new AbortController().signal);
    await loop.finish(monoMs() + 2000);
    expect(loop.records.flat()).toHaveLength(20);
    expect(loop.peakInFlight).toBe(5);
    expect(loop.maxSlotWaitMs).toBe(0);
    expect(loop.maxLagMs).toBe(0);
  });

  it("gives up on unanswered publishes at the deadline: they are unanswered, not pending", async () => {
    toy = await startToyServer({ healthOnly: true });
    const publisher = makers.http(toy.url);
    publishers.push(publisher);
    const startMs = monoMs();
    const loop = new PublisherLoop({
      schedule: { startMs, endMs: startMs + 200, ratePerSec: 20, channels: 1 },
      channels: ["a"],
      publishers: [publisher],
      payloadBytes: 200,
      ackTimeoutMs: 5000,
      maxInFlight: 100,
    });
    await loop.run(new AbortController().signal);
    const finishedMs = monoMs();
    await loop.finish(finishedMs + 300);
    expect(monoMs() - finishedMs).toBeLessThan(1000);
    expect(loop.records[0]?.map((r) => r.outcome)).toEqual([
      "unanswered",
      "unanswered",
      "unanswered",
      "unanswered",
    ]);
  });
});
