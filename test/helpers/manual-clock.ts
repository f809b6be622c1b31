import type { Clock, TimerHandle } from "../../src/util/clock.js";

interface Timer {
  dueMs: number;
  /** Creation order: timers due at the same time fire in the order they were set. */
  order: number;
  fn: () => void;
  everyMs: number | null;
}

/** Lets promise continuations started by a timer run before the next timer fires. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * A clock that moves only when the test says so. `advance()` fires due
 * timers in time order, each at its own due time; `freeze()` moves time
 * without firing anything, as when the process itself was stopped, so the
 * next `advance()` fires each overdue timer once, late, as Node would.
 */
export class ManualClock implements Clock {
  private nowMs: number;
  private readonly timers = new Map<TimerHandle, Timer>();
  private created = 0;

  constructor(startMs = 1_000_000) {
    this.nowMs = startMs;
  }

  now(): number {
    return this.nowMs;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    return this.add(fn, ms, null);
  }

  clearTimeout(timer: TimerHandle): void {
    this.timers.delete(timer);
  }

  setInterval(fn: () => void, ms: number): TimerHandle {
    return this.add(fn, ms, Math.max(1, ms));
  }

  clearInterval(timer: TimerHandle): void {
    this.timers.delete(timer);
  }

  /** Pending timers (intervals included). */
  get pending(): number {
    return this.timers.size;
  }

  async advance(ms: number): Promise<void> {
    const targetMs = this.nowMs + ms;
    for (;;) {
      const next = this.nextDue(targetMs);
      if (next === null) break;
      const [handle, timer] = next;
      this.nowMs = Math.max(this.nowMs, timer.dueMs);
      if (timer.everyMs === null) this.timers.delete(handle);
      else timer.dueMs = this.nowMs + timer.everyMs;
      timer.fn();
      await settle();
    }
    this.nowMs = targetMs;
    await settle();
  }

  /** Time passes while nothing runs (SIGSTOP, a long GC pause). */
  freeze(ms: number): void {
    this.nowMs += ms;
  }

  private add(fn: () => void, ms: number, everyMs: number | null): TimerHandle {
    const handle = {};
    this.timers.set(handle, {
      dueMs: this.nowMs + Math.max(0, ms),
      order: this.created++,
      fn,
      everyMs,
    });
    return handle;
  }

  private nextDue(limitMs: number): [TimerHandle, Timer] | null {
    let best: [TimerHandle, Timer] | null = null;
    for (const entry of this.timers) {
      const timer = entry[1];
      if (timer.dueMs > limitMs) continue;
      if (
        best === null ||
        timer.dueMs < best[1].dueMs ||
        (timer.dueMs === best[1].dueMs && timer.order < best[1].order)
      ) {
        best = entry;
      }
    }
    return best;
  }
}
