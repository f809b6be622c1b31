/**
 * What the parent reads off the server processes rtbench started: CPU and
 * memory at the edges of the window (load/servers/servers.ts) and at every second
 * boundary (load/servers/server-seconds.ts).
 */

/** CPU and memory of a group of server processes (every instance summed) at one moment. */
export interface ServerSample {
  cpuSeconds: number;
  rssBytes: number;
}

/** CPU and memory of one server process at one moment. */
export interface InstanceSample {
  /** The process sampled; a new pid means the instance was restarted. Null when unknown. */
  pid: number | null;
  cpuSeconds: number;
  rssBytes: number;
}

/**
 * Samples per instance at each second boundary of the timeline: boundary k
 * is `startMs + k s`, and the last one is `endMs` itself. Second i of the
 * timeline lies between boundaries i and i + 1.
 */
export type BoundarySamples = (InstanceSample | null)[][];

/** The servers' (or a proxy's) samples before the clients connected and at the measured window's edges; null: not sampled. */
export interface EdgeSamples {
  baseline: ServerSample | null;
  windowStart: ServerSample | null;
  windowEnd: ServerSample | null;
}
