import { expect, it } from "vitest";
import { runScenario } from "../src/load/run.js";
import { assignClients, channelNames, stickyRoutes } from "../src/load/shards/assign.js";
import type { ProtocolResult } from "../src/metrics/types.js";
import { parseScenario } from "../src/scenario/load.js";
import { describeRedis } from "./helpers/redis.js";

/**
 * The architecture measurements end to end: real reference servers in
 * child processes, a real redis-server, real shards. Each scenario is timed
 * so that what it checks can be computed exactly beforehand: publishes fall
 * on a fixed 250 ms grid and every event sits between two of them.
 */

const CHANNELS = channelNames("room-", 6);
const SKEW = { kind: "zipf", exponent: 1.1 } as const;

function stickyScenario(killed: number) {
  // Ramp-up 500 ms, then publishes every 250 ms (4/s) from 500 ms, channel i % 6.
  // The window starts 1625 ms into publishing, when every channel has had a message
  // (a client without a cursor would come back "from now"): every client leaves
  // (churn, fraction 1) and comes back 2.5 s later. The killed instance dies 1 s into
  // the window, so the four messages due in between (slots 7-10) lived only in its history.
  return parseScenario(
    `
name: sticky-kill
protocols: [websocket]
server: { instances: 3, broker: redis, routing: sticky, heartbeatInterval: 1s }
clients:
  count: 60
  channels: 6
  rampUp: 500ms
  channelSkew: zipf(1.1)
  churn: { every: 60s, offlineFor: 2500ms, fraction: 1 }
publish: { rate: 4/s, payloadBytes: 200 }
duration: 5s
warmup: 1625ms
drain: 2s
faults:
  - { at: 3125ms, action: kill, instance: ${killed} }
reconnect: { initialDelay: 100ms, maxDelay: 500ms, jitter: none }
`,
    "sticky-kill.yaml",
  );
}

describeRedis("sticky routing over Redis", (redis) => {
  it("sends every client of a channel to one instance and counts what died with another exactly", async () => {
    const routes = stickyRoutes(CHANNELS, 3);
    const killed = routes.get("room-0")?.[0] as number;
    const urls = ["u0", "u1", "u2"];
    const clients = assignClients({
      count: 60,
      channelNames: CHANNELS,
      baseUrls: urls,
      seed: 1,
      skew: SKEW,
      routing: "sticky",
    });
    const perInstance = [0, 0, 0];
    const perChannel = new Map<string, number>();
    for (const c of clients) {
      const owner = routes.get(c.channel)?.[0] as number;
      perInstance[owner] = (perInstance[owner] ?? 0) + 1;
      perChannel.set(c.channel, (perChannel.get(c.channel) ?? 0) + 1);
    }
    const onKilled = (channel: string) => routes.get(channel)?.[0] === killed;
    // Slots 7..10 are due between the churn wave and the kill; slot i goes to room-(i % 6).
    let expectedLoss = 0;
    for (let slot = 7; slot <= 10; slot++) {
      const channel = CHANNELS[slot % 6] as string;
      if (onKilled(channel)) expectedLoss += perChannel.get(channel) ?? 0;
    }
    const movedClients = clients.filter((c) => onKilled(c.channel)).length;

    const result = await runScenario(stickyScenario(killed), { redisUrl: redis.url });
    const r = result.protocols.websocket as ProtocolResult;
    expect(result.status).toBe("complete");
    // Placement: exactly the ring's, so one instance holds every client of a channel.
    expect(r.instances?.connections).toEqual(perInstance);
    expect(r.imbalance?.connections).toBeGreaterThan(1.1);
    // Each instance's CPU in the window, as the measure's probe sampled it: the killed one
    // keeps what it used before it died.
    expect(r.instances?.cpuSeconds).toHaveLength(3);
    for (const cpu of r.instances?.cpuSeconds ?? []) expect(cpu).toBeTypeOf("number");
    expect(r.faults.map((f) => f.action)).toEqual(["kill"]);
    expect(r.churnLeaves).toBe(60);
    // Every client of the dead instance came back to the next one on the ring, and its
    // resume got a gap marker: its cursor belonged to the dead instance's history.
    expect(r.neverReconnected).toBe(0);
    expect(r.gaps).toBe(movedClients);
    expect(r.lost).toBe(expectedLoss);
    expect(expectedLoss).toBeGreaterThan(0);
    expect(r.delivered + r.lost).toBe(r.expected);
    expect(r.duplicates).toBe(0);
  }, 60_000);
});

describeRedis("fan-out strategies over Redis, with churn", (redis) => {
  it("delivers everything with each strategy; tiered unread counts equal what every returning member missed", async () => {
    const scenario = parseScenario(
      `
name: fanout-churn
protocols: [websocket]
server: { instances: 2, broker: redis, heartbeatInterval: 1s }
variants:
  - { name: write, server: { fanout: write } }
  - { name: read, server: { fanout: read } }
  - { name: tiered, server: { fanout: tiered } }
clients:
  count: 60
  channels: 6
  rampUp: 300ms
  members: 240
  churn: { every: 1500ms, offlineFor: 1s, fraction: 0.3 }
publish: { rate: 20/s, payloadBytes: 200 }
duration: 6s
warmup: 1s
drain: 1500ms
`,
      "fanout-churn.yaml",
    );
    const result = await runScenario(scenario, { redisUrl: redis.url });
    expect(Object.keys(result.protocols)).toEqual([
      "websocket@write",
      "websocket@read",
      "websocket@tiered",
    ]);
    const [write, read, tiered] = Object.values(result.protocols) as ProtocolResult[];
    for (const [name, r] of Object.entries(result.protocols)) {
      // Churned clients resume from their cursor: nothing is lost, nothing repeated.
      expect(r.churnLeaves, name).toBeGreaterThan(20);
      expect(r.lost, name).toBe(0);
      expect(r.duplicates, name).toBe(0);
      expect(r.expected, name).toBeGreaterThan(0);
      expect(r.catchUp?.count, name).toBeGreaterThan(0);
      expect(r.broker?.operationsPerMessage, name).toBeGreaterThan(0);
    }
    const t = tiered as ProtocolResult;
    expect(t.unreadChecked).toBeGreaterThan(20);
    expect(t.unreadMismatches).toBe(0);
    // Tiered increments one counter per offline member of the message's channel (40
    // members a channel, 10 of them clients, fewer online during churn); read makes
    // every subscriber read; write does neither.
    expect(t.broker?.byKind.hincrby ?? 0).toBeGreaterThanOrEqual(t.published * 30);
    const ops = (r: ProtocolResult | undefined) => r?.broker?.operationsPerMessage ?? 0;
    expect(ops(t)).toBeGreaterThan(ops(write) * 2);
    expect(ops(read)).toBeGreaterThan(ops(write) * 2);
    // Read: one fetch request per batch of news, counted as requests.
    expect(read?.requests).toBeGreaterThan(write?.requests ?? 0);
  }, 120_000);
});

describeRedis("presence over Redis, measured", (redis) => {
  it("lists no ghost longer than the TTL plus one heartbeat after clients leave, and pushes joins and leaves", async () => {
    const scenario = parseScenario(
      `
name: presence-audit
protocols: [websocket]
server: { instances: 2, broker: redis, heartbeatInterval: 500ms, presenceTtl: 1s, presenceEvents: true, presenceBatch: 200ms }
clients:
  count: 40
  channels: 4
  rampUp: 300ms
  churn: { every: 2500ms, offlineFor: 2s, fraction: 0.4 }
presence: { sampleInterval: 100ms }
publish: { rate: 10/s, payloadBytes: 200 }
duration: 6s
warmup: 500ms
drain: 1s
`,
      "presence-audit.yaml",
    );
    const result = await runScenario(scenario, { redisUrl: redis.url });
    const r = result.protocols.websocket as ProtocolResult;
    const presence = r.presence;
    expect(presence).toBeTruthy();
    if (!presence) return;
    expect(presence.samples).toBeGreaterThan(100);
    expect(r.churnLeaves).toBeGreaterThanOrEqual(30);
    // Every leave was seen to end: gone from the list within TTL + one heartbeat
    // (+ one sample interval, the audit's resolution, and the request's own time).
    expect(presence.staleness.count).toBeGreaterThanOrEqual(r.churnLeaves - 2);
    expect(presence.staleness.max).toBeLessThanOrEqual(1000 + 500 + 100 + 50);
    // Ghosts exist (that is what a TTL costs) but only inside that bound.
    expect(presence.ghosts).toBeGreaterThan(0);
    expect(presence.missingShare ?? 1).toBeLessThan(0.01);
    expect(r.lost).toBe(0);
    // Joins and leaves reached the other members, in batches of 200 ms.
    expect(r.presenceEvents).toBeGreaterThan(0);
    expect(r.presenceEventsPerSec).toBeGreaterThan(0);
    expect(r.presenceEventLatency?.p50).toBeLessThan(400);
  }, 60_000);
});
