/**
 * Presence, audited: what the server listed in `GET /api/presence/C`
 * against what rtbench knows about its own clients. Pure.
 *
 * - a ghost is a listed user that was gone for the whole sample (left, or
 *   frozen by `stall-clients`);
 * - a missing user was connected for the whole sample (and a grace before
 *   it, for the server to note a fresh connection) but not listed;
 * - staleness is the time from a user leaving (or freezing) to the first
 *   sample that no longer lists it; the sample interval is its resolution.
 *   A user that comes back before it disappears was never seen to go
 *   (counted as `censored`).
 */
import type { PresenceSample } from "../run-model/presence-sample.js";
import type { ConnectionLog } from "../run-model/shard-report.js";

export interface PresenceAudit {
  samples: number;
  /** (user, sample) pairs listed, of rtbench's own users. */
  listed: number;
  ghosts: number;
  /** (user, sample) pairs where the user was connected throughout. */
  connected: number;
  missing: number;
  /** Leave (or freeze) -> first sample without the user, ms. */
  stalenessMs: number[];
  /** Leaves after which the user came back (or the run ended) before it disappeared. */
  censored: number;
}

export interface AuditInput {
  samples: readonly PresenceSample[];
  connections: readonly ConnectionLog[];
  /** `stall-clients` periods, monotonic ms: a frozen client is gone, though its sockets are open. */
  freezes: readonly [number, number][];
  /** A connection this fresh may not be listed yet without being missing. */
  graceMs: number;
}

type Span = [number, number];

export function auditPresence(input: AuditInput): PresenceAudit {
  const audit: PresenceAudit = {
    samples: input.samples.length,
    listed: 0,
    ghosts: 0,
    connected: 0,
    missing: 0,
    stalenessMs: [],
    censored: 0,
  };
  const usersOf = new Map<string, { user: string; spans: Span[] }[]>();
  for (const log of input.connections) {
    const spans = withoutFreezes(log.spans, input.freezes);
    const list = usersOf.get(log.channel) ?? [];
    list.push({ user: log.user, spans });
    usersOf.set(log.channel, list);
  }
  const samplesOf = new Map<string, PresenceSample[]>();
  for (const sample of [...input.samples].sort((a, b) => a.startMs - b.startMs)) {
    const list = samplesOf.get(sample.channel) ?? [];
    list.push(sample);
    samplesOf.set(sample.channel, list);
  }
  for (const [channel, users] of usersOf) {
    const samples = samplesOf.get(channel) ?? [];
    for (const { user, spans } of users) {
      countSamples(audit, user, spans, samples, input.graceMs);
      timeDepartures(audit, user, spans, samples);
    }
  }
  return audit;
}

function countSamples(
  audit: PresenceAudit,
  user: string,
  spans: readonly Span[],
  samples: readonly PresenceSample[],
  graceMs: number,
): void {
  for (const sample of samples) {
    const listed = sample.users.includes(user);
    const throughout = spans.some(([a, b]) => a <= sample.startMs - graceMs && b >= sample.endMs);
    const gone = !spans.some(([a, b]) => a <= sample.endMs && b >= sample.startMs);
    if (listed) audit.listed++;
    if (throughout) audit.connected++;
    if (listed && gone) audit.ghosts++;
    if (!listed && throughout) audit.missing++;
  }
}

/** For each span end: the first later sample without the user, unless it came back first. */
function timeDepartures(
  audit: PresenceAudit,
  user: string,
  spans: readonly Span[],
  samples: readonly PresenceSample[],
): void {
  spans.forEach(([, leftMs], i) => {
    if (!Number.isFinite(leftMs)) return;
    const backMs = spans[i + 1]?.[0] ?? Number.POSITIVE_INFINITY;
    const after = samples.filter((s) => s.startMs >= leftMs);
    if (after.length === 0) return;
    const gone = after.find((s) => !s.users.includes(user));
    if (gone === undefined || gone.startMs >= backMs) audit.censored++;
    else audit.stalenessMs.push(gone.startMs - leftMs);
  });
}

/** Connected spans with the frozen periods cut out; an open span runs to infinity. */
export function withoutFreezes(
  spans: readonly [number, number | null][],
  freezes: readonly [number, number][],
): Span[] {
  let result: Span[] = spans.map(([a, b]) => [a, b ?? Number.POSITIVE_INFINITY]);
  for (const [fs, fe] of freezes) {
    result = result.flatMap(([a, b]): Span[] => {
      if (fe <= a || fs >= b) return [[a, b]];
      const parts: Span[] = [];
      if (a < fs) parts.push([a, fs]);
      if (fe < b) parts.push([fe, b]);
      return parts;
    });
  }
  return result;
}
