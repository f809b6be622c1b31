/**
 * A simulated client's network (`clients.network`): one-way latency and
 * jitter, bandwidth each way, loss as TCP shows it (a stall) and periodic
 * blackholes. Plain data, so it travels to the shards in their start
 * message; shaped-socket.ts applies it to a connection's bytes.
 */
export interface NetworkProfile {
  /** The preset it started from (`4g`), or `custom`: reported with the run. */
  name: string;
  /** One-way delay added to every byte, each direction. */
  latencyMs: number;
  /** Each segment's delay varies uniformly in latency ± jitter (never reordering a stream). */
  jitterMs: number;
  /** Bytes per second towards the client (server -> client); 0: unlimited. */
  downBytesPerSec: number;
  /** Bytes per second from the client; 0: unlimited. */
  upBytesPerSec: number;
  /** Share of segments (0 to 1) lost: each stalls its connection for a retransmission timeout. */
  loss: number;
  /** Every `everyMs` (from a per-client offset) the network carries nothing for `forMs`; null: never. */
  blackhole: { everyMs: number; forMs: number } | null;
}

/** The fields of a profile a scenario may set (the name aside). */
export type NetworkFields = Omit<NetworkProfile, "name">;

/** 1 kbit/s in bytes per second (SI kilo, as network rates are quoted). */
const KBIT = 1000 / 8;

/**
 * Named profiles, with where each figure comes from. `4g` is Lighthouse's
 * "slow 4G" (mobileSlow4G, formerly "Fast 3G"; core/config/constants.js:
 * rttMs 150, throughputKbps 1.6 * 1024, upload 750 kbit/s), also
 * WebPageTest's "Mobile 3G - Fast". `3g` is Lighthouse's mobileRegular3G
 * (rttMs 300, 700 kbit/s both ways), aligned with the Chrome UX Report's 3G
 * (HTTP RTT 300-1400 ms, under 700 kbit/s). `lossy-wifi` is rtbench's own:
 * a fast link with a crowded radio (20 ms RTT, ±10 ms jitter, 2 % of
 * segments lost). Latency is one way: half the published round trip.
 */
export const NETWORK_PRESETS: Readonly<Record<string, NetworkFields>> = {
  "4g": {
    latencyMs: 75,
    jitterMs: 0,
    downBytesPerSec: 1.6 * 1024 * KBIT,
    upBytesPerSec: 750 * KBIT,
    loss: 0,
    blackhole: null,
  },
  "3g": {
    latencyMs: 150,
    jitterMs: 0,
    downBytesPerSec: 700 * KBIT,
    upBytesPerSec: 700 * KBIT,
    loss: 0,
    blackhole: null,
  },
  "lossy-wifi": {
    latencyMs: 10,
    jitterMs: 10,
    downBytesPerSec: 20_000 * KBIT,
    upBytesPerSec: 20_000 * KBIT,
    loss: 0.02,
    blackhole: null,
  },
};

/** A profile with every field zero: what `custom` fields start from. */
export const PERFECT_NETWORK: NetworkFields = {
  latencyMs: 0,
  jitterMs: 0,
  downBytesPerSec: 0,
  upBytesPerSec: 0,
  loss: 0,
  blackhole: null,
};

/** One entry of a mix: a profile and the share of clients on it. */
export interface NetworkShare {
  profile: NetworkProfile;
  fraction: number;
}

/**
 * The profile of client `index` (global, 0-based) in a mix: the clients
 * are dealt out in proportion, interleaved (the first fraction's share of
 * every hundred clients, then the next), so a ramp-up or a shard holds the
 * same mix as the whole run. Shares that sum below 1 leave the rest on a
 * perfect network (null).
 */
export function profileOf(mix: readonly NetworkShare[], index: number): NetworkProfile | null {
  // A low-discrepancy point in [0, 1) per client: the golden-ratio sequence
  // spreads any fraction evenly over consecutive indexes.
  const point = (index * 0.618033988749895) % 1;
  let edge = 0;
  for (const share of mix) {
    edge += share.fraction;
    if (point < edge) return share.profile;
  }
  return null;
}

/** Bandwidth text: `1.6Mbit/s`, `750kbit/s`, `64KB/s` (1024 bytes), `1MB/s`, `0` (unlimited). */
export const BANDWIDTH_PATTERN = "^(?:0|(\\d+(?:\\.\\d+)?)\\s*(bit|kbit|Mbit|Gbit|B|KB|MB)/s)$";
const BANDWIDTH_RE = new RegExp(BANDWIDTH_PATTERN);
const BANDWIDTH_UNITS: Readonly<Record<string, number>> = {
  bit: 1 / 8,
  kbit: KBIT,
  Mbit: 1000 * KBIT,
  Gbit: 1_000_000 * KBIT,
  B: 1,
  KB: 1024,
  MB: 1024 * 1024,
};

/** Bytes per second in a bandwidth text; throws a RangeError naming what it expected. */
export function parseBandwidth(text: string): number {
  const match = typeof text === "string" ? BANDWIDTH_RE.exec(text) : null;
  if (match === null) {
    throw new RangeError(
      `expected a bandwidth like 1.6Mbit/s, 750kbit/s or 64KB/s, found ${JSON.stringify(text)}`,
    );
  }
  if (match[1] === undefined) return 0;
  return Number(match[1]) * (BANDWIDTH_UNITS[match[2] as string] as number);
}

/** `clients.slow` as a shard gets it. */
export interface SlowPlan {
  /** This many clients (the first by index), or... */
  count: number;
  /** ...this share of them, spread evenly over the indexes (used when count is 0). */
  fraction: number;
  /** What a slow client's network carries towards it, bytes per second. */
  downBytesPerSec: number;
}

/** Whether client `index` is one of the slow ones. */
export function isSlow(plan: SlowPlan | null | undefined, index: number): boolean {
  if (plan === null || plan === undefined) return false;
  if (plan.count > 0) return index < plan.count;
  return (index * 0.5698402909980532 + 0.25) % 1 < plan.fraction;
}
