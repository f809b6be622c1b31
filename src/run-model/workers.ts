/**
 * What the coordinator knows of its workers (`rtbench run --workers N`)
 * once the clients stopped: each one's clock against the publisher's
 * (load/workers/clock-sync.ts estimates it) and what their control
 * connections cost. The clock-bound measure (measures/workers.ts) judges them.
 */

/** A worker's clock over one run, as the result records it. */
export interface WorkerClock {
  /** "worker 2". */
  worker: string;
  /** The last offset applied, ms (coordinator minus worker). */
  offsetMs: number;
  /** The widest bound of the estimates applied during the run, ms. */
  boundMs: number;
}

/** What the workers' control connections cost the coordinator, per worker per second. */
export interface ControlTraffic {
  /** Workers the run was planned for. */
  count: number;
  /** Reports, heartbeats and clock requests received (payload bytes). */
  controlBytesInPerWorkerPerSec: number;
  /** Orders and clock answers sent (payload bytes). */
  controlBytesOutPerWorkerPerSec: number;
}
