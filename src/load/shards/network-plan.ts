import {
  isSlow,
  type NetworkShare,
  PERFECT_NETWORK,
  profileOf,
  type SlowPlan,
} from "../../clients/network-profile.js";
import { ClientNetwork } from "../../clients/shaped-socket.js";
import { seededRandom } from "../../util/random.js";

/** `clients.network` as a shard gets it: the mix, and when the clients' networks start. */
export interface NetworkPlan {
  mix: NetworkShare[];
  /** The run's ramp-up start (monotonic ms): blackhole schedules count from it. */
  originMs: number;
}

/** A flap fault as a shard gets it, in monotonic ms. */
export interface FlapPlan {
  startMs: number;
  /** The end of the measured window: no outage starts after it. */
  endMs: number;
  everyMs: number;
  offlineForMs: number;
  fraction: number;
  jitterMs: number;
}

/** What a shard's start message says about networks. */
export interface NetworkSpec {
  network?: NetworkPlan | null;
  flaps?: FlapPlan[];
  slow?: SlowPlan | null;
  seed: number;
}

/**
 * The network of client `index` (global, 0-based), or undefined when it
 * sits on loopback untouched (no profile for it and no flap takes it):
 * then its sockets are the plain ones. Seeded per client, so a run's
 * jitter, losses, blackhole offsets and flap schedule repeat with its seed.
 */
export function networkOf(spec: NetworkSpec, index: number): ClientNetwork | undefined {
  const plan = spec.network;
  let profile = plan ? profileOf(plan.mix, index) : null;
  if (isSlow(spec.slow, index)) {
    // A slow consumer: its network as the mix says, with the slow downlink.
    const base = profile ?? { name: "loopback", ...PERFECT_NETWORK };
    profile = { ...base, name: "slow", downBytesPerSec: spec.slow?.downBytesPerSec ?? 0 };
  }
  const flaps = (spec.flaps ?? []).filter((flap) => flapped(flap, index));
  if (profile === null && flaps.length === 0) return undefined;
  const network = new ClientNetwork(
    profile ?? { name: "loopback", ...PERFECT_NETWORK },
    plan?.originMs ?? 0,
    spec.seed * 1_000_003 + index,
  );
  const random = seededRandom(spec.seed * 7_919 + index);
  for (const flap of flaps) {
    for (const [fromMs, toMs] of flapOutages(flap, random)) network.addOutage(fromMs, toMs);
  }
  return network;
}

/**
 * Whether a flap takes client `index`: the share `fraction` of the clients,
 * spread evenly over the indexes (a different sequence from the network
 * mix's, so the two are independent of each other).
 */
export function flapped(flap: FlapPlan, index: number): boolean {
  return (index * 0.7548776662466927 + 0.5) % 1 < flap.fraction;
}

/**
 * One client's outages under a flap: the first somewhere in its first
 * period (staggered, so the clients do not all go at once), then one every
 * period, each start moved by up to ± jitter; none starts after the window.
 */
export function flapOutages(flap: FlapPlan, random: () => number): [number, number][] {
  const { startMs, endMs, everyMs, offlineForMs, jitterMs } = flap;
  const outages: [number, number][] = [];
  const phaseMs = random() * everyMs;
  for (let k = 0; ; k++) {
    const fromMs = Math.max(
      startMs,
      startMs + phaseMs + k * everyMs + (random() * 2 - 1) * jitterMs,
    );
    if (fromMs >= endMs) break;
    outages.push([fromMs, fromMs + offlineForMs]);
  }
  return outages;
}
