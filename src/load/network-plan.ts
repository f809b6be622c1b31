import { type NetworkShare, profileOf } from "../clients/network-profile.js";
import { ClientNetwork } from "../clients/shaped-socket.js";

/** `clients.network` as a shard gets it: the mix, and when the clients' networks start. */
export interface NetworkPlan {
  mix: NetworkShare[];
  /** The run's ramp-up start (monotonic ms): blackhole schedules count from it. */
  originMs: number;
}

/**
 * The network of client `index` under the shard's plan, or undefined when
 * it sits on loopback (no plan, or outside every share of the mix): then
 * its sockets are the plain ones. Seeded per client, so a run's jitter,
 * losses and blackhole offsets repeat with its seed.
 */
export function networkOf(
  spec: { network?: NetworkPlan | null; seed: number },
  index: number,
): ClientNetwork | undefined {
  const plan = spec.network;
  if (plan === undefined || plan === null) return undefined;
  const profile = profileOf(plan.mix, index);
  if (profile === null) return undefined;
  return new ClientNetwork(profile, plan.originMs, spec.seed * 1_000_003 + index);
}
