import type { ProbeResults } from "../../measures/parent.js";
import type { BoundarySamples, EdgeSamples } from "../../run-model/server-sample.js";
import type { Timeline } from "../../run-model/timeline.js";
import type { ProxyKind, Scenario } from "../../scenario/types.js";
import type { EffectiveServerSettings } from "../../shared/server-launch.js";
import type { ProtocolName } from "../../shared/transports.js";
import type { FaultRecord } from "../faults/faults.js";
import type { PublisherLoop } from "../publisher/publisher.js";
import type { ShardPlan } from "../shards/shard-plan.js";
import type { Collected } from "../stages/collect.js";

/** Everything a protocol's result is computed from. */
export interface RunRecord {
  scenario: Scenario;
  protocol: ProtocolName;
  timeline: Timeline;
  /** When an interrupted run stopped (monotonic ms); null when it ran to the end. */
  stoppedAtMs: number | null;
  channels: string[];
  /** The shard plan the run went by; absent where a caller did not plan. */
  plan?: ShardPlan;
  publisher: Pick<
    PublisherLoop,
    "records" | "maxLagMs" | "maxSlotWaitMs" | "peakInFlight" | "notSent" | "refusals"
  >;
  faults: FaultRecord[];
  collected: Collected;
  /** What the servers rtbench started run with (from /healthz); null against a target. */
  serverSettings: EffectiveServerSettings | null;
  /** False when the target does not acknowledge publishes (each counted as sent once written). */
  publishAcknowledged?: boolean;
  /** Server samples before the clients, and at the start and end of the window. */
  samples: EdgeSamples;
  /** The proxy in front of the instances and its samples (the same three points); absent: none. */
  proxy?: { kind: ProxyKind; samples: EdgeSamples };
  /** Per-second samples taken by the parent (observe.ts). */
  seconds: { parentLoopDelayP99Ms: (number | null)[]; servers: BoundarySamples };
  /** Server instances the clients were spread over. */
  instanceCount: number;
  /** What the registered measures' probes saw (measures/parent.ts), by measure; absent: none ran. */
  measures?: ProbeResults;
}
