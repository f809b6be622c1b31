import { describe, expect, it } from "vitest";
import {
  assignClients,
  channelNames,
  channelWeights,
  spreadByWeight,
  stickyRoutes,
} from "../src/load/shards/assign.js";
import { HashRing, hash32 } from "../src/load/shards/hash-ring.js";

/** The ring the slow way: every point of every node, the nearest one clockwise wins. */
function naiveOwner(nodes: number[], virtualNodes: number, key: string): number {
  const h = hash32(key);
  let best: { distance: number; point: number; node: number } | null = null;
  for (const node of nodes) {
    for (let i = 0; i < virtualNodes; i++) {
      const point = hash32(`node-${node}-${i}`);
      const distance = (point - h + 2 ** 32) % 2 ** 32;
      const better =
        best === null ||
        distance < best.distance ||
        (distance === best.distance && node < best.node);
      if (better) best = { distance, point, node };
    }
  }
  return (best as { node: number }).node;
}

const keys = Array.from({ length: 2000 }, (_, i) => `room-${i}`);

describe("hash ring", () => {
  it("places every key where the naive oracle does", () => {
    const nodes = [0, 1, 2, 3];
    const ring = new HashRing(nodes, 40);
    for (const key of keys.slice(0, 500)) {
      expect(ring.nodeFor(key), key).toBe(naiveOwner(nodes, 40, key));
    }
  });

  it("spreads keys evenly over the nodes with 160 virtual nodes each", () => {
    const ring = new HashRing([0, 1, 2, 3, 4]);
    const counts = [0, 0, 0, 0, 0];
    for (const key of keys) counts[ring.nodeFor(key)] = (counts[ring.nodeFor(key)] ?? 0) + 1;
    for (const count of counts) {
      expect(count).toBeGreaterThan((keys.length / 5) * 0.75);
      expect(count).toBeLessThan((keys.length / 5) * 1.25);
    }
  });

  it("moves only the keys of a node that leaves, each to the next node of its preference", () => {
    const ring = new HashRing([0, 1, 2, 3]);
    const smaller = ring.without(2);
    let moved = 0;
    for (const key of keys) {
      const before = ring.nodeFor(key);
      const after = smaller.nodeFor(key);
      if (before !== 2) {
        expect(after, key).toBe(before);
        continue;
      }
      moved++;
      expect(after, key).toBe(ring.preference(key)[1]);
    }
    // About a quarter of the keys lived on node 2; all of them and only they moved.
    expect(moved).toBeGreaterThan(keys.length * 0.15);
    expect(moved).toBeLessThan(keys.length * 0.35);
  });

  it("lists every node once in a key's preference, its owner first", () => {
    const ring = new HashRing([0, 1, 2]);
    for (const key of keys.slice(0, 100)) {
      const order = ring.preference(key);
      expect([...order].sort()).toEqual([0, 1, 2]);
      expect(order[0]).toBe(ring.nodeFor(key));
    }
    expect(new HashRing([7]).preference("x")).toEqual([7]);
    expect(() => new HashRing([])).toThrow(RangeError);
  });
});

describe("channel skew and sticky assignment", () => {
  it("splits clients by weight, at least one per channel, adding up exactly", () => {
    expect(spreadByWeight(10, [1, 1, 1])).toEqual([4, 3, 3]);
    expect(spreadByWeight(3, [100, 1, 1])).toEqual([1, 1, 1]);
    const zipf = spreadByWeight(1000, channelWeights({ kind: "zipf", exponent: 1.1 }, 20));
    expect(zipf.reduce((a, b) => a + b, 0)).toBe(1000);
    // Zipf: the first channel is the hottest, and twice the second one's weight^1.1 apart.
    expect(zipf[0]).toBeGreaterThan(200);
    expect(zipf[0] as number).toBeGreaterThan((zipf[1] as number) * 1.9);
    expect(Math.min(...zipf)).toBeGreaterThanOrEqual(1);
    expect(channelWeights({ kind: "weights", weights: [3, 1] }, 2)).toEqual([3, 1]);
  });

  it("sends every client of a channel to the channel's ring instance, with the ring's failover order", () => {
    const channels = channelNames("room-", 12);
    const urls = ["http://a", "http://b", "http://c"];
    const clients = assignClients({
      count: 300,
      channelNames: channels,
      baseUrls: urls,
      seed: 5,
      skew: { kind: "zipf", exponent: 1.1 },
      routing: "sticky",
    });
    const routes = stickyRoutes(channels, 3);
    for (const client of clients) {
      const route = routes.get(client.channel) as number[];
      expect(client.route).toEqual(route);
      expect(client.baseUrl).toBe(urls[route[0] as number]);
    }
    const roomZero = clients.filter((c) => c.channel === "room-0");
    expect(new Set(roomZero.map((c) => c.baseUrl)).size).toBe(1);
    expect(roomZero.length).toBeGreaterThan(60);
  });
});
