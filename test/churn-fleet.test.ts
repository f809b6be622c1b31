/**
 * Churn in the fleet, on a manual clock with clients that only do what the
 * test tells them: who leaves, that leaving is not a break, that a client
 * comes back from its cursor, and how an unread count is checked.
 */
import { describe, expect, it } from "vitest";
import type { ClientOptions, TransportClient } from "../src/clients/types.js";
import { Fleet } from "../src/load/fleet/fleet.js";
import { buildBody } from "../src/load/publisher/stamp.js";
import type { ShardStart } from "../src/load/shards/shard-protocol.js";
import { mergedTally } from "../src/measures/parent.js";
import { ManualClock } from "./helpers/manual-clock.js";

class QuietClient implements TransportClient {
  readonly protocol = "websocket";
  cursor: string | undefined;
  closed = false;
  constructor(readonly options: ClientOptions) {}
  connect(): Promise<void> {
    this.options.handlers.onReady(1);
    return Promise.resolve();
  }
  close(): void {
    this.closed = true;
  }
}

function setup(clients: number, fraction = 0.5) {
  const clock = new ManualClock();
  const start = clock.now();
  const spec: ShardStart = {
    type: "start",
    protocol: "websocket",
    clients: Array.from({ length: clients }, (_, index) => ({
      index,
      baseUrl: "http://a",
      channel: "c0",
      user: `u${index}`,
    })),
    totalClients: clients,
    rampStartMs: start,
    rampUpMs: 0,
    measureStartMs: start + 1000,
    measureEndMs: start + 60_000,
    drainEndMs: start + 61_000,
    settings: {},
    urls: ["http://a"],
    reconnect: {
      initialDelayMs: 100,
      maxDelayMs: 1000,
      multiplier: 2,
      jitter: "none",
      maxRetries: 5,
      resume: true,
      watchdogIntervals: 0,
      honorServerRetry: false,
    },
    heartbeatIntervalMs: 1000,
    seed: 3,
    churn: {
      startMs: start + 1000,
      endMs: start + 60_000,
      everyMs: 10_000,
      offlineForMs: 4000,
      fraction,
    },
  };
  const made: QuietClient[] = [];
  const fleet = new Fleet(spec, {
    clock,
    createClient: (_protocol, options) => {
      const client = new QuietClient(options);
      made.push(client);
      return client;
    },
  });
  /** A stamped message with per-channel sequence `seq`, sent at `sentMs`. */
  const message = (client: QuietClient, seq: number, sentMs = clock.now()) =>
    client.options.handlers.onMessage(String(seq), buildBody("c0", seq, sentMs, sentMs, 200));
  return { clock, fleet, made, message, start };
}

describe("fleet churn", () => {
  it("sends half the clients away at each wave, without a break, and back from their cursor", async () => {
    const { clock, fleet, made, message, start } = setup(4);
    await fleet.rampUp(new AbortController().signal);
    for (const client of made) message(client, 1);
    await clock.advance(1000 - (clock.now() - start));
    fleet.markWindowStart();
    await clock.advance(0);
    const away = made.filter((c) => c.closed);
    expect(away).toHaveLength(2);
    expect(fleet.open).toBe(2);
    // 4 s later they return, resuming after the last message they had.
    await clock.advance(4000);
    const back = made.slice(4);
    expect(back.map((c) => c.options.since)).toEqual(["1", "1"]);
    expect(back.map((c) => c.options.user).sort()).toEqual(away.map((c) => c.options.user).sort());
    const report = fleet.report(0);
    expect(report.counters).toMatchObject({ churnLeaves: 2, breaks: 0, reconnectAttempts: 0 });
  });

  it("checks the unread count of a returning member against the missed ids that arrive, and times its catch-up", async () => {
    const { clock, fleet, made, message, start } = setup(2, 1);
    await fleet.rampUp(new AbortController().signal);
    for (const client of made) message(client, 1);
    await clock.advance(1000 - (clock.now() - start));
    fleet.markWindowStart();
    await clock.advance(0);
    const leftAt = clock.now();
    await clock.advance(4000);
    const [first, second] = made.slice(2) as [QuietClient, QuietClient];
    // One is told 2 missed messages (ids 2, 3) and gets both; the other is told 3 and gets 2.
    first.options.handlers.onUnread?.(2, "3");
    second.options.handlers.onUnread?.(3, "3");
    await clock.advance(30);
    for (const client of [first, second]) {
      message(client, 2, leftAt + 100);
      message(client, 3, leftAt + 200);
    }
    message(first, 4);
    fleet.close();
    const report = fleet.report(0);
    expect(report.counters).toMatchObject({ unreadChecked: 2, unreadMismatches: 1 });
    // The catch-up measure's timing, merged as the parent merges the shards' (measures/parent.ts).
    const catchUp = mergedTally([report.measures["catch-up"]]).timing("catchUp");
    expect(catchUp.count).toBe(2);
    expect(catchUp.max).toBeCloseTo(30, 0);
  });
});
