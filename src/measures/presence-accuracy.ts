import { createLatencyHistogram, recordMs, summarizeHistogram } from "../metrics/histogram.js";
import type { HistogramSummary, ProtocolResult } from "../metrics/types.js";
import type { PresenceSample } from "../run-model/presence-sample.js";
import type { Measure, MeasureProbe, MeasureRow, ProbeContext, ResultContext } from "./measure.js";
import { histogramMetrics, histogramStat } from "./metric-info.js";
import { auditPresence } from "./presence-audit.js";
import { PresenceSampler } from "./presence-sampler.js";

/**
 * Presence accuracy (`presence.sampleInterval`): how true the server's
 * presence lists were. The probe samples every channel's list while the
 * clients run (presence-sampler.ts), the shards log when each client was
 * connected, and the audit (presence-audit.ts) holds one against the other:
 * ghosts listed though gone, users missing though connected, and how long
 * a leaver stayed listed.
 */
export interface PresenceAccuracy {
  /** Presence lists sampled (one channel each). */
  samples: number;
  /** (user, sample) pairs listed, of rtbench's own users. */
  listed: number;
  /** Listed, but gone (left, or frozen) for the whole sample. */
  ghosts: number;
  ghostShare: number | null;
  /** (user, sample) pairs where the user was connected throughout. */
  connected: number;
  /** Connected throughout, but not listed. */
  missing: number;
  missingShare: number | null;
  /** A client leaving (or freezing) -> the first sample without it. */
  staleness: HistogramSummary;
  /** Leaves after which the user came back, or the run ended, before it disappeared. */
  censored: number;
}

export interface PresenceAccuracyResult {
  /** Presence lists against the clients rtbench knows; null when not sampled. */
  presence?: PresenceAccuracy | null;
}

declare module "../metrics/types.js" {
  interface MeasureResults extends PresenceAccuracyResult {}
}

/** A fresh connection this young may not be in the presence list yet without being missing. */
export const PRESENCE_GRACE_MS = 250;

/**
 * Samples the presence lists from the start of the window to the end of
 * the drain (leavers are still being dropped from them after the window);
 * null: presence not sampled.
 */
function presenceProbe({
  scenario,
  channels,
  urlsFor,
}: ProbeContext): MeasureProbe<PresenceSample[] | null> {
  const intervalMs = scenario.presence.sampleIntervalMs;
  if (intervalMs <= 0) return { finish: () => null };
  const sampler = new PresenceSampler(channels, urlsFor, intervalMs);
  return {
    windowStart: () => sampler.start(),
    finish: async () => {
      await sampler.stop();
      return sampler.samples;
    },
  };
}

function accuracyOf(
  run: ResultContext<unknown>,
  samples: readonly PresenceSample[],
): PresenceAccuracy {
  const start = run.timeline.rampStartMs;
  const freezes = run.faults
    .filter((f) => f.action === "stall-clients")
    .map((f): [number, number] => [
      start + f.firedAtMs,
      start + (f.endedAtMs ?? Number.POSITIVE_INFINITY),
    ]);
  const audit = auditPresence({
    samples,
    connections: run.connections,
    freezes,
    graceMs: PRESENCE_GRACE_MS,
  });
  const staleness = createLatencyHistogram();
  for (const ms of audit.stalenessMs) recordMs(staleness, ms);
  return {
    samples: audit.samples,
    listed: audit.listed,
    ghosts: audit.ghosts,
    ghostShare: audit.listed > 0 ? audit.ghosts / audit.listed : null,
    connected: audit.connected,
    missing: audit.missing,
    missingShare: audit.connected > 0 ? audit.missing / audit.connected : null,
    staleness: summarizeHistogram(staleness),
    censored: audit.censored,
  };
}

const sampled = (p: ProtocolResult) => p.presence !== undefined && p.presence !== null;
const percent = (share: number | null | undefined) =>
  share === null || share === undefined ? null : share * 100;
const stale = (label: string, field: "p50" | "max"): MeasureRow => ({
  label,
  value: (p) => histogramStat(p.presence?.staleness, field) ?? null,
  when: sampled,
});
const COUNT = { type: "integer", minimum: 0 };
const SHARE = { type: ["number", "null"], minimum: 0 };

export const presenceAccuracy: Measure<PresenceAccuracyResult, PresenceSample[] | null> = {
  name: "presence-accuracy",
  description:
    "presence lists sampled against the clients rtbench knows: ghosts, missing users, staleness",
  probe: presenceProbe,
  result: (run) => ({
    presence: run.probe && accuracyOf(run, run.probe),
  }),
  metrics: [
    ...histogramMetrics(
      "presence.staleness",
      "presence: a client left (or froze) -> gone from the presence list",
    ),
    {
      path: "presence.samples",
      unit: "count",
      kind: "count",
      better: null,
      description: "presence lists sampled",
    },
    {
      path: "presence.ghostShare",
      unit: "ratio",
      kind: "rate",
      better: "lower",
      description: "share of listed users that were gone (left or frozen) for the whole sample",
    },
    {
      path: "presence.missingShare",
      unit: "ratio",
      kind: "rate",
      better: "lower",
      description: "share of connected users that the presence list left out",
    },
    {
      path: "presence.ghosts",
      unit: "count",
      kind: "count",
      better: "lower",
      description: "listed users that were gone",
    },
    {
      path: "presence.missing",
      unit: "count",
      kind: "count",
      better: "lower",
      description: "connected users not listed",
    },
  ],
  schema: {
    presence: {
      description:
        "presence lists (GET /api/presence/C, sampled) against the clients rtbench knows",
      type: ["object", "null"],
      required: [
        "samples",
        "listed",
        "ghosts",
        "ghostShare",
        "connected",
        "missing",
        "missingShare",
        "staleness",
        "censored",
      ],
      properties: {
        samples: COUNT,
        listed: COUNT,
        ghosts: COUNT,
        ghostShare: SHARE,
        connected: COUNT,
        missing: COUNT,
        missingShare: SHARE,
        staleness: { $ref: "#/definitions/histogram" },
        censored: COUNT,
      },
    },
  },
  rows: {
    after: "unread mismatches",
    rows: [
      {
        label: "presence samples",
        value: (p) => p.presence?.samples ?? null,
        format: "count",
        when: sampled,
      },
      { label: "presence ghosts %", value: (p) => percent(p.presence?.ghostShare), when: sampled },
      {
        label: "presence missing %",
        value: (p) => percent(p.presence?.missingShare),
        when: sampled,
      },
      stale("presence stale p50 ms", "p50"),
      stale("presence stale max ms", "max"),
      {
        label: "presence never gone",
        value: (p) => p.presence?.censored ?? null,
        format: "count",
        when: sampled,
      },
    ],
  },
};
