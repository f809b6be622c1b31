// The memory broker's idempotency keys (a publish's `Idempotency-Key`):
// channel and key -> the message stored under it, for DEDUPE_WINDOW_MS, so
// a publisher's retry after a timeout or a 503 stores nothing twice.
import type { Message } from "../../src/shared/protocol.js";
import { DEDUPE_WINDOW_MS } from "./types.js";

/** Keys remembered at most; past it the oldest go first (a retry comes within seconds). */
const MAX_DEDUPE_KEYS = 100_000;

/** Kept in insertion order, so the oldest are dropped first. */
export class DedupeWindow {
  private readonly entries = new Map<string, { message: Message; expiresAtMs: number }>();

  get(channel: string, key: string): Message | undefined {
    const entry = this.entries.get(`${channel}\n${key}`);
    return entry && entry.expiresAtMs > Date.now() ? entry.message : undefined;
  }

  set(channel: string, key: string, message: Message): void {
    const nowMs = Date.now();
    for (const [oldest, entry] of this.entries) {
      if (entry.expiresAtMs > nowMs && this.entries.size < MAX_DEDUPE_KEYS) break;
      this.entries.delete(oldest);
    }
    const name = `${channel}\n${key}`;
    // Re-set after expiry: to the end, where the newest are.
    this.entries.delete(name);
    this.entries.set(name, { message, expiresAtMs: nowMs + DEDUPE_WINDOW_MS });
  }
}
