/**
 * Checks a tiered server's unread counter for one returning member: the
 * count it announced against the messages the member then actually received
 * that it had missed, i.e. ids after its cursor up to the id the count
 * covers. Pure: fed ids, it says when it has seen enough.
 */
export class UnreadCheck {
  private seen = 0;
  private done = false;

  constructor(
    /** What the server announced. */
    readonly announced: number,
    /** The count covers messages up to this id. */
    readonly throughId: number,
    /** The member's cursor when it came back: everything up to here it already had. */
    readonly sinceId: number,
  ) {
    if (throughId <= sinceId) this.done = true;
  }

  /** A message received for the first time on this connection; true once the check is complete. */
  see(id: number): boolean {
    if (this.done) return true;
    if (id > this.sinceId && id <= this.throughId) this.seen++;
    if (id >= this.throughId) this.done = true;
    return this.done;
  }

  /** Messages missed that arrived so far. */
  get received(): number {
    return this.seen;
  }

  /** The announced count equals what was missed (and has all arrived). */
  get matches(): boolean {
    return this.seen === this.announced;
  }

  get complete(): boolean {
    return this.done;
  }
}
