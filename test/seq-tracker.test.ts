import { describe, expect, it } from "vitest";
import { orderPosition, ReorderCounter, SeqTracker } from "../src/metrics/seq-tracker.js";
import { seededRandom } from "../src/util/random.js";

/** Mostly in order, with duplicates, local reordering and holes: what a real subscriber sees. */
function arrivals(seed: number, length: number): number[] {
  const random = seededRandom(seed);
  const out: number[] = [];
  for (let seq = 1; seq <= length; seq++) {
    const r = random();
    if (r < 0.05) continue; // lost
    out.push(seq);
    if (r > 0.97) out.push(Math.max(1, seq - Math.floor(random() * 20))); // duplicate or late copy
  }
  // Swap neighbours now and then to reorder.
  for (let i = 1; i < out.length; i++) {
    if (random() < 0.05) [out[i - 1], out[i]] = [out[i] as number, out[i - 1] as number];
  }
  return out;
}

describe("SeqTracker", () => {
  it("agrees with a Set oracle on random sequences with duplicates, holes and reordering", () => {
    for (let seed = 1; seed <= 30; seed++) {
      const tracker = new SeqTracker();
      const oracle = new Set<number>();
      for (const seq of arrivals(seed, 2000)) {
        const expected = oracle.has(seq) ? "duplicate" : "new";
        oracle.add(seq);
        expect(tracker.add(seq)).toBe(expected);
      }
      expect(tracker.size).toBe(oracle.size);
      for (let seq = 1; seq <= 2010; seq++) expect(tracker.has(seq)).toBe(oracle.has(seq));
      const query = Array.from({ length: 2010 }, (_, i) => i + 1).filter((s) => s % 3 !== 0);
      expect(tracker.countIn(query)).toBe(query.filter((s) => oracle.has(s)).length);
      // Intervals are canonical: sorted, disjoint, non-adjacent.
      const pairs = tracker.toJSON();
      for (let i = 1; i < pairs.length; i++) {
        expect((pairs[i] as [number, number])[0]).toBeGreaterThan(
          (pairs[i - 1] as [number, number])[1] + 1,
        );
      }
    }
  });

  it("keeps in-order delivery in one interval", () => {
    const tracker = new SeqTracker();
    for (let seq = 1; seq <= 100_000; seq++) tracker.add(seq);
    expect(tracker.intervalCount).toBe(1);
    expect(tracker.toJSON()).toEqual([[1, 100_000]]);
  });

  it("merges intervals when a hole is filled from either side", () => {
    const tracker = new SeqTracker();
    for (const seq of [1, 2, 5, 6, 4, 3]) tracker.add(seq);
    expect(tracker.toJSON()).toEqual([[1, 6]]);
  });

  it("survives a toJSON/fromJSON round trip through JSON text", () => {
    const tracker = new SeqTracker();
    for (const seq of arrivals(99, 500)) tracker.add(seq);
    const copy = SeqTracker.fromJSON(JSON.parse(JSON.stringify(tracker)));
    expect(copy.toJSON()).toEqual(tracker.toJSON());
    expect(copy.size).toBe(tracker.size);
  });

  it("rejects malformed IPC data and invalid sequence numbers", () => {
    expect(() => SeqTracker.fromJSON([[3, 1]])).toThrow(/pair 0/);
    expect(() =>
      SeqTracker.fromJSON([
        [1, 2],
        [3, 4],
      ]),
    ).toThrow(/pair 1/); // adjacent: not canonical
    expect(() => SeqTracker.fromJSON("1-2")).toThrow(TypeError);
    expect(() => new SeqTracker().add(0)).toThrow(RangeError);
    expect(() => new SeqTracker().add(1.5)).toThrow(RangeError);
  });
});

describe("ReorderCounter", () => {
  it("counts messages received after one with a higher id", () => {
    const random = seededRandom(5);
    for (let round = 0; round < 20; round++) {
      const ids = Array.from({ length: 300 }, (_, i) => i + 1);
      for (let i = 1; i < ids.length; i++) {
        if (random() < 0.1) [ids[i - 1], ids[i]] = [ids[i] as number, ids[i - 1] as number];
      }
      const counter = new ReorderCounter();
      const flagged = ids.filter((id) => counter.add(id)).length;
      // Oracle: an id is reordered when any earlier id is higher.
      let expected = 0;
      let highest = 0;
      for (const id of ids) {
        if (id < highest) expected++;
        highest = Math.max(highest, id);
      }
      expect(counter.reordered).toBe(expected);
      expect(flagged).toBe(expected);
    }
    const inOrder = new ReorderCounter();
    for (const id of [1, 2, 3, 10, 11]) inOrder.add(id);
    expect(inOrder.reordered).toBe(0);
  });
});

describe("orderPosition", () => {
  const cases: [id: string, seq: number, position: number][] = [
    ["17", 3, 17], // the reference server's numeric ids order messages
    ["1700000000000-5", 3, 3], // an opaque id (a Redis stream id): the publisher's sequence
    ["abc", 9, 9],
    ["2.5", 1, 2.5],
    ["Infinity", 4, 4],
  ];
  for (const [id, seq, position] of cases) {
    it(`id ${JSON.stringify(id)}, seq ${seq} -> ${position}`, () => {
      expect(orderPosition(id, seq)).toBe(position);
    });
  }
});
