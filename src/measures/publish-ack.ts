import { createLatencyHistogram, recordMs, summarizeHistogram } from "../metrics/histogram.js";
import type { HistogramSummary } from "../metrics/types.js";
import type { PublishRecord } from "../run-model/publish-record.js";
import type { Window } from "../run-model/timeline.js";
import type { Measure } from "./measure.js";
import { histogramMetrics, histogramStat } from "./metric-info.js";

/**
 * How long the server took to acknowledge the window's publishes, late
 * ones included: from the publisher's own records, no probe, no shard.
 */
export interface PublishAckResult {
  /** Absent in results written before it was measured. */
  publishAck?: HistogramSummary;
}

declare module "../metrics/types.js" {
  interface MeasureResults extends PublishAckResult {}
}

/** Send -> acknowledgement of the window's acknowledged messages, late ones included. */
export function publishAckLatency(
  records: readonly (readonly PublishRecord[])[],
  window: Window,
): HistogramSummary {
  const histogram = createLatencyHistogram();
  for (const channel of records) {
    for (const record of channel) {
      if (record.dueMs < window.startMs || record.dueMs >= window.endMs) continue;
      if (record.ackMs !== null) recordMs(histogram, record.ackMs);
    }
  }
  return summarizeHistogram(histogram);
}

export const publishAck: Measure<PublishAckResult> = {
  name: "publish-ack",
  description: "send -> the server's acknowledgement of the window's publishes",
  result: ({ records, window }) => ({ publishAck: publishAckLatency(records, window) }),
  metrics: histogramMetrics(
    "publishAck",
    "publish acknowledgement: send -> the server's answer, late ones included",
  ),
  schema: {
    publishAck: {
      description:
        "Send -> the server's acknowledgement of the window's acknowledged publishes, late ones included.",
      $ref: "#/definitions/histogram",
    },
  },
  rows: {
    after: "publish never acked",
    rows: [
      {
        label: "publish ack p99 ms",
        value: (r) => histogramStat(r.publishAck, "p99") ?? null,
        when: (r) => (r.publishAcks?.late ?? 0) + (r.publishAcks?.unanswered ?? 0) > 0,
      },
    ],
  },
};
