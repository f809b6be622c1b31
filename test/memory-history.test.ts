import { describe, expect, it } from "vitest";
import type { HistoryPage } from "../reference-server/broker/memory-history.js";
import { ChannelHistory } from "../reference-server/broker/memory-history.js";

const LIMITS = { maxCount: 1000, maxAgeMs: 60_000 };

/** A history where the ids in `skipped` were assigned but never stored (holes). */
function historyWith(lastId: number, skipped: number[] = []): ChannelHistory {
  const history = new ChannelHistory();
  for (let i = 1; i <= lastId; i++) {
    const id = history.nextId();
    if (skipped.includes(id)) continue;
    // Ten characters of JSON each, so byte caps are easy to count.
    const message = { id, channel: "c", ts: Date.now(), body: null };
    history.append(message, `{"id":${String(id).padStart(3, "0")}}`);
  }
  return history;
}

const ids = (page: HistoryPage) => page.messages.map((message) => message.id);

describe("memory broker history", () => {
  it("reads after a cursor by id, contiguous history", () => {
    const history = historyWith(10);
    expect(ids(history.read(4, 100, Infinity))).toEqual([5, 6, 7, 8, 9, 10]);
    expect(history.read(4, 100, Infinity).gap).toBeUndefined();
    expect(ids(history.read(4, 2, Infinity))).toEqual([5, 6]);
    expect(history.read(10, 100, Infinity)).toEqual({ messages: [], jsons: [] });
    expect(history.read(4, 1, Infinity).jsons).toEqual(['{"id":005}']);
  });

  // A hole (an id taken but never stored) must neither shift reads nor vanish silently.
  it("a read never shifts past a hole: it stops before it, and the next read reports it as a gap", () => {
    const history = historyWith(9, [6]);
    const before = history.read(4, 100, Infinity);
    expect(ids(before)).toEqual([5]);
    expect(before.gap).toBeUndefined();
    const across = history.read(5, 100, Infinity);
    expect(across.gap).toEqual({ from: 6, to: 6 });
    expect(ids(across)).toEqual([7, 8, 9]);
    // Reading from inside the hole: no gap to report, the rest follows.
    const inside = history.read(6, 100, Infinity);
    expect(inside.gap).toBeUndefined();
    expect(ids(inside)).toEqual([7, 8, 9]);
  });

  it("holes at the start and at the end become gaps too", () => {
    const history = historyWith(6, [1, 2, 6]);
    expect(history.read(0, 100, Infinity)).toMatchObject({ gap: { from: 1, to: 2 } });
    expect(ids(history.read(0, 100, Infinity))).toEqual([3, 4, 5]);
    expect(history.read(5, 100, Infinity)).toEqual({
      messages: [],
      jsons: [],
      gap: { from: 6, to: 6 },
    });
  });

  it("pruned history and holes together give one gap per read, in order", () => {
    const history = historyWith(20, [15]);
    history.prune({ ...LIMITS, maxCount: 10 }, Date.now());
    // Retained: 10..14, 16..20 (10 messages); 1..9 pruned; 15 never stored.
    const first = history.read(0, 100, Infinity);
    expect(first.gap).toEqual({ from: 1, to: 9 });
    expect(ids(first)).toEqual([10, 11, 12, 13, 14]);
    const second = history.read(14, 100, Infinity);
    expect(second.gap).toEqual({ from: 15, to: 15 });
    expect(ids(second)).toEqual([16, 17, 18, 19, 20]);
  });

  it("caps a page in bytes but always returns the first message", () => {
    const history = historyWith(10);
    expect(ids(history.read(0, 100, 35))).toEqual([1, 2, 3]);
    expect(ids(history.read(0, 100, 1))).toEqual([1]);
  });
});
