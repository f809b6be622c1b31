import type { ReasonCount } from "../run-model/shard-report.js";
import { classifyFailure } from "../util/failure.js";

/**
 * Counts events (failed connects, breaks) by reason, keeping the first few
 * reasons seen: the words a user reads to learn why, without a map that
 * grows with every distinct error text a server can make up.
 */
export class ReasonTally {
  private readonly byReason = new Map<string, { count: number; example: string }>();

  constructor(private readonly kept: number) {}

  add(reason: string, example: string): void {
    const seen = this.byReason.get(reason);
    if (seen !== undefined) seen.count++;
    else if (this.byReason.size < this.kept) this.byReason.set(reason, { count: 1, example });
  }

  toJSON(): ReasonCount[] {
    return [...this.byReason].map(([reason, e]) => ({ reason, ...e }));
  }
}

/** `GET /api/messages?channel=...&since=41: ...`: the request differs per attempt, the reason not. */
const REQUEST_PREFIX = /^[A-Z]+ \S+(?: \(HTTP\/2\))?: /;

/**
 * The reason a break is counted under: a known kind of failure in its few
 * words ("HTTP 503", "connection reset"), else the break's own text without
 * the request it names ("SSE line longer than ... (client bound)").
 */
export function breakReasonKey(text: string): string {
  const failure = classifyFailure(new Error(text));
  return failure.kind === "other" ? text.replace(REQUEST_PREFIX, "") : failure.reason;
}

/** Reason counts from several shards added up, most frequent first. */
export function mergeReasonCounts(lists: readonly (readonly ReasonCount[])[]): ReasonCount[] {
  const byReason = new Map<string, ReasonCount>();
  for (const list of lists) {
    for (const e of list) {
      const seen = byReason.get(e.reason);
      if (seen) seen.count += e.count;
      else byReason.set(e.reason, { ...e });
    }
  }
  return [...byReason.values()].sort((a, b) => b.count - a.count);
}
