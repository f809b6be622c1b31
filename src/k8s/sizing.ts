/**
 * Resource requests of the pods `rtbench k8s` writes, from the same shard
 * plan a local run makes (src/load/shard-plan.ts), cut into N equal
 * segments. Pure.
 *
 * Every figure below was measured on the project's 2-core VM and is written
 * up in docs/benchmarks.md; the ones marked "assumed" were not measured.
 */

import { planShards, SHARD_CORE_SHARE } from "../load/shards/shard-plan.js";
import { expectedWork } from "../load/stages/clients-up.js";
import type { Scenario } from "../scenario/types.js";
import type { ProtocolName } from "../shared/transports.js";

/**
 * Generator memory per idle client, KB (docs/benchmarks.md, "Memory per
 * connection" and "TLS and permessage-deflate", `bench/client-memory.js`):
 * WebSocket 4.2-5.5 KB idle and 9.3 KB in the deflate table's run with 1 KB
 * bodies (the larger is taken), 18.6 KB with permessage-deflate; long poll
 * 6.1 KB; SSE 7.3 KB. Short poll uses long poll's lean HTTP client (assumed
 * the same); SSE over HTTP/2 is taken as SSE's (assumed).
 */
const CLIENT_KB: Record<string, number> = {
  websocket: 9.3,
  "short-poll": 6.1,
  "long-poll": 6.1,
  sse: 7.3,
  "sse-h2": 7.3,
};
const DEFLATE_CLIENT_KB = 18.6;
/** Any transport not in the table (a registered toy): the largest plain figure. */
const UNKNOWN_CLIENT_KB = 9.3;
/**
 * TLS per connection, KB: measured on the server side (48-53 KB per TLS
 * socket against 9 KB plain, docs/benchmarks.md "TLS and
 * permessage-deflate"); a client's TLS socket is assumed to hold as much.
 */
const TLS_EXTRA_KB = 40;
/**
 * Headroom over idle figures for messages in flight, histograms and
 * sequence ledgers (assumed): the measured figures are of idle clients.
 */
const CLIENT_HEADROOM = 1.5;

/**
 * A shard process before its first client (`node` with the shard's modules
 * loaded: 72 MB RSS measured here) and a worker's own process (the CLI
 * loaded: 98 MB), rounded up.
 */
const SHARD_BASE_MB = 80;
const WORKER_BASE_MB = 128;
/** CPU of the worker's own process, relaying its shards' reports (assumed). */
const WORKER_RELAY_CORES = 0.1;
/** No pod is asked for less than a quarter of a core. */
const MIN_CORES = 0.25;
/**
 * Nor a worker for less than a quarter of a core per shard (assumed): the
 * plan's costs are per delivery and per request, and leave out what holding
 * and opening connections costs (heartbeats, TLS handshakes in the ramp-up).
 */
const MIN_CORES_PER_SHARD = 0.25;

/**
 * The coordinator publishes, merges every worker's reports and samples
 * `/proc`: a core and 512 MB (assumed; its cost per worker is what
 * `npm run bench -- workers` measures).
 */
const COORDINATOR_CORES = 1;
const COORDINATOR_BASE_MB = 512;
/**
 * Server memory per connection, KB, for reference servers the coordinator
 * starts in its own pod (the fanout table in docs/benchmarks.md, "What one
 * machine holds"; the 50,000-client runs gave 8.58 KB for WebSocket and
 * 13.7 KB for SSE); SSE over HTTP/2 from the TLS table (7.4 KB).
 */
const SERVER_KB: Record<string, number> = {
  websocket: 8.6,
  "short-poll": 15.4,
  "long-poll": 22.9,
  sse: 16.1,
  "sse-h2": 7.4,
};

export interface PodSize {
  /** CPU cores requested (rounded up to 0.1). */
  cores: number;
  /** Memory requested, MiB. */
  memoryMiB: number;
}

/**
 * Connections one address can hold to one destination address and port:
 * the source ports of the range the worker pods set (1024-65535).
 */
export const PORTS_PER_SOURCE = 64_512;
/**
 * Past about half the range in use towards one destination, Linux's
 * connect() searches the whole even half of the range on every further
 * connect (0.77 ms of kernel time per connect against 0.03-0.07 ms,
 * measured here: docs/benchmarks.md, "50,000 clients").
 */
export const SLOW_CONNECT_PER_DESTINATION = Math.floor(PORTS_PER_SOURCE / 2);

export interface WorkerSegment {
  /** Clients of the largest segment (the first ones take the remainder). */
  clients: number;
  /** Shard processes a worker plans for that segment, on the busiest protocol. */
  shards: number;
  /** Cores' worth of the segment's client work, on the busiest protocol. */
  clientCores: number;
}

export interface RunSizes {
  worker: PodSize;
  segment: WorkerSegment;
  coordinator: PodSize;
}

/**
 * Sizes for a run of `scenario` over `workers` workers. Protocols run one
 * after another, so each pod is sized for the most demanding one.
 */
export function sizeRun(scenario: Scenario, workers: number): RunSizes {
  let segment: WorkerSegment = { clients: 0, shards: 1, clientCores: 0 };
  let workerCores = MIN_CORES;
  let workerMiB = 0;
  let serverMiB = 0;
  const tls = usesTls(scenario);
  for (const protocol of scenario.protocols) {
    const work = expectedWork(scenario, protocol);
    const clients = Math.ceil(work.clients / workers);
    const deliveriesPerSec = work.deliveriesPerSec / workers;
    const requestsPerSec = work.requestsPerSec / workers;
    // As many cores as the plan's shards may use at their planned share each.
    const plan = planShards({
      clients,
      deliveriesPerSec,
      requestsPerSec,
      cores: Number.MAX_SAFE_INTEGER,
      serverInstances: 0,
      requestedShards: 0,
    });
    const cores = Math.max(
      plan.clientCores / SHARD_CORE_SHARE + WORKER_RELAY_CORES,
      plan.shards * MIN_CORES_PER_SHARD,
    );
    const clientKb = clientMemoryKb(scenario, protocol) + (tls ? TLS_EXTRA_KB : 0);
    const mib =
      WORKER_BASE_MB + plan.shards * SHARD_BASE_MB + (clients * clientKb * CLIENT_HEADROOM) / 1024;
    if (cores > workerCores || mib > workerMiB) {
      segment = { clients, shards: plan.shards, clientCores: plan.clientCores };
    }
    workerCores = Math.max(workerCores, cores);
    workerMiB = Math.max(workerMiB, mib);
    if (scenario.target === null) {
      const kb = (SERVER_KB[protocol] ?? UNKNOWN_CLIENT_KB) + (tls ? TLS_EXTRA_KB : 0);
      serverMiB = Math.max(serverMiB, (work.clients * kb * CLIENT_HEADROOM) / 1024);
    }
  }
  const serverCores = scenario.target === null ? maxServerCores(scenario) : 0;
  return {
    worker: { cores: roundCores(workerCores), memoryMiB: Math.ceil(workerMiB) },
    segment,
    coordinator: {
      cores: roundCores(COORDINATOR_CORES + serverCores),
      memoryMiB: Math.ceil(COORDINATOR_BASE_MB + serverMiB),
    },
  };
}

/** The reference servers' CPU, started in the coordinator's pod; a target's own servers are not ours to size. */
function maxServerCores(scenario: Scenario): number {
  let cores = 0;
  for (const protocol of scenario.protocols) {
    const work = expectedWork(scenario, protocol);
    const plan = planShards({
      ...work,
      cores: Number.MAX_SAFE_INTEGER,
      serverInstances: scenario.server.instances,
      requestedShards: 0,
    });
    cores = Math.max(cores, plan.serverCores);
  }
  return cores;
}

function clientMemoryKb(scenario: Scenario, protocol: ProtocolName): number {
  const settings = scenario.transports[protocol]?.settings ?? {};
  if (settings.deflate === "on") return DEFLATE_CLIENT_KB;
  return CLIENT_KB[protocol] ?? UNKNOWN_CLIENT_KB;
}

function usesTls(scenario: Scenario): boolean {
  if (scenario.target !== null) {
    return scenario.target.urls.some((url) => /^(https|wss):/i.test(url));
  }
  return scenario.server.tls !== null || scenario.variants.some((v) => v.server.tls !== null);
}

function roundCores(cores: number): number {
  return Math.ceil(Math.max(MIN_CORES, cores) * 10 - 1e-9) / 10;
}
