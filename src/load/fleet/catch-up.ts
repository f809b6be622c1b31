/**
 * One subscriber's return from being cut off (churn, a flap of its network,
 * the end of a broker fault), timed from the return by the stamps of what
 * arrives after it: a message sent before the return is one it missed (or
 * one held up), a message sent after it is new.
 *
 * - caught up: the last missed message arrived (the replay, with resume);
 * - recovered: the first new message arrived (delivery works again).
 *
 * Two numbers and no allocation per message: `see` runs on the hot path.
 */
export class CatchUp {
  /** When the subscriber came back (monotonic ms); null when not returning. */
  returnedAtMs: number | null = null;
  private caughtUpAtMs: number | null = null;
  private recoveredAtMs: number | null = null;

  /** A return at `atMs` begins; messages sent before it are what was missed. */
  begin(atMs: number): void {
    this.returnedAtMs = atMs;
    this.caughtUpAtMs = null;
    this.recoveredAtMs = null;
  }

  /** A message sent at `sentMs` arrived at `nowMs`. */
  see(sentMs: number, nowMs: number): void {
    const returnedAtMs = this.returnedAtMs;
    if (returnedAtMs === null || nowMs < returnedAtMs) return;
    if (sentMs < returnedAtMs) this.caughtUpAtMs = nowMs;
    else if (this.recoveredAtMs === null) this.recoveredAtMs = nowMs;
  }

  /** Return -> the last missed message arrived, ms; null: nothing missed arrived. */
  caughtUpMs(): number | null {
    return this.returnedAtMs === null || this.caughtUpAtMs === null
      ? null
      : this.caughtUpAtMs - this.returnedAtMs;
  }

  /** Return -> the first message sent after it arrived, ms; null: none arrived. */
  recoveredMs(): number | null {
    return this.returnedAtMs === null || this.recoveredAtMs === null
      ? null
      : this.recoveredAtMs - this.returnedAtMs;
  }

  /** The return is over (its figures were taken): nothing is timed until the next `begin`. */
  end(): void {
    this.returnedAtMs = null;
    this.caughtUpAtMs = null;
    this.recoveredAtMs = null;
  }
}
