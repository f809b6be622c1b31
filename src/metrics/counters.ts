/**
 * The counters the simulated clients keep, defined once. The fleet's record,
 * the shard report, the sum over shards, the result's fields, the metric
 * names (names.ts) and the table rows (report/format.ts) are all derived from
 * this table, so a new counter is one entry here.
 *
 * Every counter is a count of events (unit "count"), summed over shards.
 */
export interface CounterInfo {
  /** What it counts; also the metric's description in `rtbench metrics`. */
  description: string;
  /** For `compare`: "exact" when a single one is a regression, else descriptive. */
  kind: "exact" | "count";
  /** null when neither direction is better. */
  better: "lower" | "higher" | null;
  /** Whether the result file carries it (a public contract: schema/result.schema.json). */
  inResult: boolean;
  /**
   * The row in the result table, if any. `exact` prints every digit (a count
   * that must be read exactly); `afterBreaks` shows the row only when some
   * protocol had a break or a failed connect.
   */
  row?: { label: string; exact: boolean; afterBreaks: boolean };
}

export const COUNTERS = {
  duplicates: {
    description: "extra copies of a message received by one subscriber",
    kind: "exact",
    better: "lower",
    inResult: true,
    row: { label: "duplicates", exact: true, afterBreaks: false },
  },
  reordered: {
    description: "messages received after one with a higher id",
    kind: "exact",
    better: "lower",
    inResult: true,
    row: { label: "reordered", exact: true, afterBreaks: false },
  },
  unstamped: {
    description: "messages whose body carried no rtbench stamp",
    kind: "count",
    better: "lower",
    inResult: false,
  },
  unrecognisedFrames: {
    description:
      "frames, events, poll answers or items from the server that the target protocol has no place for (ignored)",
    kind: "exact",
    better: "lower",
    inResult: true,
    row: { label: "unrecognised frames", exact: true, afterBreaks: false },
  },
  connectFailures: {
    description: "connection attempts that failed (retried)",
    kind: "count",
    better: "lower",
    inResult: true,
  },
  neverConnected: {
    description:
      "clients that never became ready (refused, or a server that never answered), at the end",
    kind: "exact",
    better: "lower",
    inResult: true,
    row: { label: "never connected", exact: true, afterBreaks: true },
  },
  admissionWaits: {
    description:
      "retries that waited as a full server said (503 or 429 with Retry-After, WebSocket close 1013) instead of backing off",
    kind: "count",
    better: null,
    inResult: true,
  },
  breaks: {
    description: "connections that broke after they were ready",
    kind: "count",
    better: "lower",
    inResult: true,
    row: { label: "breaks", exact: true, afterBreaks: true },
  },
  watchdogBreaks: {
    description: "breaks noticed by the client-side watchdog",
    kind: "count",
    better: null,
    inResult: true,
    row: { label: "  noticed by watchdog", exact: false, afterBreaks: true },
  },
  reconnectAttempts: {
    description: "connection attempts after a break",
    kind: "count",
    better: null,
    inResult: true,
  },
  failedReconnects: {
    description: "reconnect attempts that failed",
    kind: "count",
    better: "lower",
    inResult: true,
    row: { label: "failed reconnects", exact: true, afterBreaks: true },
  },
  neverReconnected: {
    description: "clients still disconnected at the end",
    kind: "exact",
    better: "lower",
    inResult: true,
    row: { label: "never reconnected", exact: true, afterBreaks: true },
  },
  gaveUp: {
    description: "clients that stopped retrying after the policy's maxRetries",
    kind: "count",
    better: "lower",
    inResult: false,
  },
  gaps: {
    description:
      "gap markers received: the server said messages were gone (or, reset, that ids restarted)",
    kind: "count",
    better: "lower",
    inResult: true,
  },
  resumeRecovered: {
    description:
      "messages a reconnected client got from the server's history: sent while it was away, recovered by resuming from its cursor",
    kind: "count",
    better: null,
    inResult: true,
    row: { label: "recovered by resume", exact: true, afterBreaks: true },
  },
  churnLeaves: {
    description: "times a client left on purpose (clients.churn) to come back later",
    kind: "count",
    better: null,
    inResult: true,
  },
  unreadChecked: {
    description: "returning members whose unread count was checked against what they had missed",
    kind: "count",
    better: null,
    inResult: true,
  },
  unreadMismatches: {
    description: "returning members whose unread count differed from the messages they had missed",
    kind: "exact",
    better: "lower",
    inResult: true,
  },
} as const satisfies Record<string, CounterInfo>;

export type CounterName = keyof typeof COUNTERS;

/** One value per counter: the fleet's record, a shard's report, their sum. */
export type Counters = Record<CounterName, number>;

export type ResultCounterName = {
  [K in CounterName]: (typeof COUNTERS)[K]["inResult"] extends true ? K : never;
}[CounterName];

/** The counters a protocol's result carries. */
export type ResultCounters = Pick<Counters, ResultCounterName>;

export const COUNTER_NAMES = Object.keys(COUNTERS) as CounterName[];

export function counterInfo(name: CounterName): CounterInfo {
  return COUNTERS[name];
}

export function zeroCounters(): Counters {
  const counters = {} as Counters;
  for (const name of COUNTER_NAMES) counters[name] = 0;
  return counters;
}

/** Counter by counter sum, e.g. of every shard's report. */
export function sumCounters(records: readonly Counters[]): Counters {
  const total = zeroCounters();
  for (const record of records) {
    for (const name of COUNTER_NAMES) total[name] += record[name];
  }
  return total;
}

/** The part of `counters` a result carries. */
export function resultCounters(counters: Counters): ResultCounters {
  const picked: Partial<Counters> = {};
  for (const name of COUNTER_NAMES) {
    if (COUNTERS[name].inResult) picked[name] = counters[name];
  }
  return picked as ResultCounters;
}

/**
 * A protocol had a break or a failed connect: the rule for showing the rows
 * about breaks, the counters' `afterBreaks` rows and the reconnect timings.
 */
export function hadBreaks(p: Pick<Counters, "breaks" | "connectFailures">): boolean {
  return p.breaks > 0 || p.connectFailures > 0;
}
