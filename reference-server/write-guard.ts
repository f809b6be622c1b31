import type { EventEmitter } from "node:events";
import type { ServerResponse } from "node:http";

/**
 * Write timeouts: a client that stops taking what the server writes is cut
 * off after `timeoutMs` instead of holding a buffer and a descriptor forever.
 * Nothing is armed while writes go straight to the kernel, so the common
 * case costs one property read per write.
 */

/** What a stream exposes for this: Node sockets and ServerResponse both fit. */
export interface Drainable extends EventEmitter {
  readonly writableNeedDrain: boolean;
}

/**
 * For long-lived streams (SSE, WebSocket): `afterWrite()` after each write
 * arms a timer when the socket is backed up; the next 'drain' disarms it; if
 * it fires, `cutOff` runs. `drained()` lets history replay wait for room.
 */
export class WriteDeadline {
  private timer: NodeJS.Timeout | null = null;
  private readonly disarm = () => {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  };

  constructor(
    private readonly stream: Drainable,
    private readonly timeoutMs: number,
    private readonly cutOff: () => void,
  ) {}

  /** Call after every write; cheap when the socket is keeping up. */
  afterWrite(): void {
    if (this.timer !== null || !this.stream.writableNeedDrain) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.stream.off("drain", this.disarm);
      this.cutOff();
    }, this.timeoutMs);
    this.stream.once("drain", this.disarm);
  }

  /** Null when the socket takes more now; else settles on its next 'drain' or 'close'. */
  drained(): Promise<void> | null {
    if (!this.stream.writableNeedDrain) return null;
    return new Promise((resolve) => {
      const done = () => {
        this.stream.off("drain", done);
        this.stream.off("close", done);
        resolve();
      };
      this.stream.once("drain", done);
      this.stream.once("close", done);
    });
  }

  /** The stream closed: nothing left to time. */
  clear(): void {
    this.disarm();
    this.stream.off("drain", this.disarm);
  }
}

/**
 * For a response already ended: if its bytes are still queued (the client is
 * not reading), destroys it unless they are all handed to the kernel within
 * `timeoutMs`.
 */
export function guardAnswer(res: ServerResponse, timeoutMs: number): void {
  if (res.writableFinished || res.writableLength === 0) return;
  const timer = setTimeout(() => res.destroy(), timeoutMs);
  const clear = () => clearTimeout(timer);
  res.once("finish", clear);
  res.once("close", clear);
}
