import { readFileSync } from "node:fs";
import { descriptorLimit } from "../../../reference-server/limits.js";
import type { Scenario } from "../../scenario/types.js";
import type { SystemUnderTest } from "../servers/system-under-test.js";
import {
  FIRST_SOURCE_PORT,
  SOURCE_PORTS_PER_ADDRESS,
  SYSTEM_PORTS_PER_URL,
} from "../shards/assign.js";
import type { Environment } from "./environment.js";

/**
 * Preflight: the operating system's limits a run will meet, checked against
 * the planned clients before any of them connects, so a run that would fail
 * half-way (EMFILE in a shard, clients refused at an instance's admission
 * limit, connects that run out of source ports or overflow a listen queue)
 * says beforehand which limit to raise and how. Pure but for
 * `readSystemLimits`; every check is a warning: a limit met part-way still
 * leaves a run that measures something, and the run's verdicts say the rest.
 */

/** The machine's limits that matter to a run; null where they cannot be read (not Linux). */
export interface SystemLimits {
  /** Open files per process (`ulimit -n`, soft): the shards and the servers rtbench starts inherit it. */
  openFiles: number | null;
  /** `net.ipv4.ip_local_port_range`: the ports the kernel picks source ports from. */
  localPortRange: readonly [number, number] | null;
  /** `net.core.somaxconn`: the kernel's cap on every listen backlog. */
  somaxconn: number | null;
}

export interface PreflightInput {
  clients: number;
  shards: number;
  /** The server URLs the clients spread over, round-robin (one per instance). */
  urls: readonly string[];
  rampUpMs: number;
  /**
   * Open connections each instance admits before refusing subscribers (the
   * reference server's effective `maxConnections`); null when not known (a target).
   */
  admitsPerInstance: number | null;
  /** The backlog the server asks listen() for (the reference server: 65535); null when not known. */
  listenBacklog: number | null;
  /** True when the servers run on this machine, so its somaxconn is theirs. */
  serversLocal: boolean;
  platform: NodeJS.Platform;
  limits: SystemLimits;
}

/** Descriptors a shard needs besides its clients' sockets (stdio, IPC, the runtime's own). */
export const SHARD_DESCRIPTOR_RESERVE = 50;
/**
 * A server's event loop can be busy this long between accepts (a fan-out, a
 * GC pause); connects that arrive meanwhile wait in its listen queue.
 */
const ACCEPT_PAUSE_MS = 100;

const RAISE_OPEN_FILES =
  "raise it in the shell that starts rtbench (`ulimit -n 65536`, up to the hard limit `ulimit -Hn`; for good: /etc/security/limits.conf or systemd's LimitNOFILE)";

export function preflightWarnings(input: PreflightInput): string[] {
  const instances = Math.max(1, input.urls.length);
  const perInstance = Math.ceil(input.clients / instances);
  return [
    ...openFileWarnings(input),
    ...admissionWarnings(input, perInstance, instances),
    ...portWarnings(input, perInstance),
    ...backlogWarnings(input, perInstance),
  ];
}

function openFileWarnings(input: PreflightInput): string[] {
  const { openFiles } = input.limits;
  if (openFiles === null) return [];
  const perShard = Math.ceil(input.clients / Math.max(1, input.shards));
  if (perShard + SHARD_DESCRIPTOR_RESERVE <= openFiles) return [];
  const shardsNeeded = Math.ceil(input.clients / Math.max(1, openFiles - SHARD_DESCRIPTOR_RESERVE));
  return [
    `open files: each of the ${input.shards} shard(s) holds about ${perShard} client sockets and may open ${openFiles} files (ulimit -n): the clients past that fail with EMFILE; ${RAISE_OPEN_FILES}, or spread the clients over clients.shards: ${shardsNeeded}`,
  ];
}

/** Issue 25: clients planned past what an instance admits are refused and retry. */
function admissionWarnings(
  input: PreflightInput,
  perInstance: number,
  instances: number,
): string[] {
  const admits = input.admitsPerInstance;
  if (admits === null || perInstance <= admits) return [];
  return [
    `admission: about ${perInstance} clients are planned per server instance (${input.clients} over ${instances}), and each admits ${admits} open connections (server.maxConnections; by default 90 % of its open-file limit - 100): the other ${perInstance - admits} are refused (HTTP 503 with Retry-After, before any WebSocket upgrade) and retry; ${RAISE_OPEN_FILES} (the instances inherit it), add instances (server.instances with broker: redis), or plan fewer clients`,
  ];
}

/**
 * Source ports: past SYSTEM_PORTS_PER_URL clients on a loopback URL (Linux)
 * every client binds an explicit 127.0.x.y:port of its own, below the
 * kernel's range; otherwise the kernel picks from its range, which bounds
 * the connections from one address to one server port.
 */
function portWarnings(input: PreflightInput, perInstance: number): string[] {
  const range = input.limits.localPortRange;
  if (range === null) return [];
  const [low, high] = range;
  const explicit =
    input.platform === "linux" &&
    perInstance > SYSTEM_PORTS_PER_URL &&
    input.urls.every((url) => /^127\.\d+\.\d+\.\d+$/.test(new URL(url).hostname));
  if (explicit) {
    const lastExplicit = FIRST_SOURCE_PORT + SOURCE_PORTS_PER_ADDRESS - 1;
    if (low > lastExplicit) return [];
    return [
      `local ports: ip_local_port_range ${low}-${high} overlaps the source ports rtbench binds past ${SYSTEM_PORTS_PER_URL} clients per server (${FIRST_SOURCE_PORT}-${lastExplicit} on 127.0.x.y): the kernel's own choices can take them and those binds fail; move the range above them: sudo sysctl -w net.ipv4.ip_local_port_range="32768 60999"`,
    ];
  }
  const size = high - low + 1;
  if (perInstance <= size) return [];
  return [
    `local ports: about ${perInstance} clients connect to each server address and port, and the kernel has ${size} source ports per source address (ip_local_port_range ${low}-${high}): the clients past that cannot connect; widen it (sudo sysctl -w net.ipv4.ip_local_port_range="1024 65535") or spread the clients over more server URLs or instances`,
  ];
}

/**
 * Connects that arrive while a server is busy wait in its listen queue,
 * which the kernel caps at somaxconn; past it, a SYN is dropped and retried
 * a second later, which shows as connect times of 1 s, 3 s, ...
 */
function backlogWarnings(input: PreflightInput, perInstance: number): string[] {
  const { somaxconn } = input.limits;
  if (!input.serversLocal || somaxconn === null) return [];
  const queue = Math.min(input.listenBacklog ?? somaxconn, somaxconn);
  const burst =
    input.rampUpMs <= 0
      ? perInstance
      : Math.ceil(Math.min(perInstance, (perInstance * ACCEPT_PAUSE_MS) / input.rampUpMs));
  if (burst <= queue) return [];
  const by =
    input.listenBacklog === null || somaxconn < input.listenBacklog
      ? `somaxconn ${somaxconn} caps it`
      : `the server's backlog ${input.listenBacklog}`;
  return [
    `listen queue: during ramp-up about ${burst} connects reach each server instance per ${ACCEPT_PAUSE_MS} ms, and its listen queue holds ${queue} (${by}): connects past it are retried after 1 s and show as slow connects; raise it (sudo sysctl -w net.core.somaxconn=65535) or lengthen clients.rampUp`,
  ];
}

/** This machine's limits, read from /proc (null each where it cannot be read). */
export function readSystemLimits(): SystemLimits {
  return {
    openFiles: descriptorLimit(),
    localPortRange: readNumbers("/proc/sys/net/ipv4/ip_local_port_range", 2) as
      | [number, number]
      | null,
    somaxconn: readNumbers("/proc/sys/net/core/somaxconn", 1)?.[0] ?? null,
  };
}

function readNumbers(file: string, count: number): number[] | null {
  try {
    const numbers = readFileSync(file, "utf8").trim().split(/\s+/).map(Number);
    return numbers.length === count && numbers.every(Number.isSafeInteger) ? numbers : null;
  } catch {
    return null;
  }
}

/**
 * The preflight of one protocol's run, once its servers are up (the
 * reference server reports the admission limit it derived from its own
 * descriptor limit).
 */
export function preflightFor(
  scenario: Scenario,
  system: Pick<SystemUnderTest, "listenBacklog">,
  shards: number,
  env: Pick<Environment, "urls" | "settings" | "servers">,
  limits: SystemLimits = readSystemLimits(),
): string[] {
  return preflightWarnings({
    clients: scenario.clients.count,
    shards,
    urls: env.urls,
    rampUpMs: scenario.clients.rampUpMs,
    admitsPerInstance: env.settings?.limits?.maxConnections ?? null,
    listenBacklog: system.listenBacklog,
    serversLocal:
      env.servers !== null ||
      env.urls.every((url) => /^(127\.|localhost|\[::1\])/.test(new URL(url).host)),
    platform: process.platform,
    limits,
  });
}
