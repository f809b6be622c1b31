import { brokerCostMeasure } from "./broker-cost.js";
import { brokerRecovery } from "./broker-recovery.js";
import { catchUp } from "./catch-up.js";
import { fallback } from "./fallback.js";
import { generatorHealth } from "./generator-health.js";
import { instanceSpread } from "./instance-spread.js";
import type { AnyMeasure, Measure } from "./measure.js";
import { presenceAccuracy } from "./presence-accuracy.js";
import { presenceEvents } from "./presence-events.js";
import { publishAck } from "./publish-ack.js";
import { publisher } from "./publisher.js";
import { reconnects } from "./reconnects.js";
import { serverCost } from "./server-cost.js";
import { slowConsumers } from "./slow-consumers.js";
import { stallDetection } from "./stall-detection.js";
import { tlsConnect } from "./tls-connect.js";
import { trafficCost } from "./traffic-cost.js";
import { workers } from "./workers.js";

/**
 * The measures rtbench ships, one row each, in the order their fields,
 * metrics and rows appear. A new measure is a file next to this one and a
 * line here (docs/development.md, "Adding a measure").
 */
const BUILT_IN: readonly AnyMeasure[] = [
  // Before server cost, whose rows follow its last row.
  trafficCost,
  tlsConnect,
  publisher,
  publishAck,
  brokerCostMeasure,
  brokerRecovery,
  // Stall detection, then reconnects, then instance spread: the herd row follows the
  // stall rows (both after "never reconnected"), the instance rows follow the herd row.
  stallDetection,
  reconnects,
  instanceSpread,
  catchUp,
  // Before presence events, whose rows follow its last row.
  presenceAccuracy,
  presenceEvents,
  fallback,
  slowConsumers,
  workers,
  serverCost,
  // After server cost: its row follows the servers' rows.
  generatorHealth,
];

interface Registered {
  measure: AnyMeasure;
  /** The module a shard imports to register it too (extensions); null: built in. */
  module: string | null;
}

const registered: Registered[] = BUILT_IN.map((measure) => ({ measure, module: null }));
/** Bumped on every change, so what is derived from the rows (metric names) is rebuilt. */
let version = 0;

/** Every registered measure, built-ins first. */
export function measures(): readonly AnyMeasure[] {
  return registered.map((r) => r.measure);
}

export function measuresVersion(): number {
  return version;
}

/**
 * Adds a measure (an extension, or a test's). A measure with a shard side
 * runs in the shards too, which are other processes: `module` is the URL of
 * an ES module whose `measure` export is this measure, and each shard
 * imports it before its clients start (load/fleet/shard-main.ts).
 */
export function registerMeasure<F extends object, P>(
  measure: Measure<F, P>,
  module?: string,
): void {
  if (registered.some((r) => r.measure.name === measure.name)) {
    throw new Error(`measure ${JSON.stringify(measure.name)} is already registered`);
  }
  const taken = new Set(measures().flatMap((m) => Object.keys(m.schema)));
  const clash = Object.keys(measure.schema).find((field) => taken.has(field));
  if (clash !== undefined) {
    throw new Error(
      `measure ${JSON.stringify(measure.name)}: result field ${clash} is already another measure's`,
    );
  }
  if (measure.shard && module === undefined) {
    throw new Error(
      `measure ${JSON.stringify(measure.name)} records in shards: register it with the URL of its module`,
    );
  }
  registered.push({ measure: measure as unknown as AnyMeasure, module: module ?? null });
  version++;
}

/** Removes a measure added by `registerMeasure` (tests clean up with it); built-ins stay. */
export function unregisterMeasure(name: string): void {
  const i = registered.findIndex((r) => r.measure.name === name);
  if (i >= 0 && !BUILT_IN.includes((registered[i] as Registered).measure)) {
    registered.splice(i, 1);
    version++;
  }
}

/** The modules of the extension measures with a shard side, for the shards to import. */
export function shardMeasureModules(): string[] {
  return registered.flatMap((r) => (r.module !== null && r.measure.shard ? [r.module] : []));
}

/** In a shard: imports the parent's extension measures and registers those not known yet. */
export async function importMeasureModules(modules: readonly string[]): Promise<void> {
  for (const module of modules) {
    const { measure } = (await import(module)) as { measure: AnyMeasure };
    if (!registered.some((r) => r.measure.name === measure.name)) registerMeasure(measure, module);
  }
}
