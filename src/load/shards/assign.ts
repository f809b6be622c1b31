import type { SourceEndpoint } from "../../clients/types.js";
import type { ChannelSkew, Routing } from "../../scenario/types.js";
import { seededRandom } from "../../util/random.js";
import { HashRing } from "./hash-ring.js";

export interface ClientAssignment {
  /** Global client index, 0-based: the order in which clients connect during ramp-up. */
  index: number;
  baseUrl: string;
  channel: string;
  user: string;
  /**
   * Source address and port of the client's sockets; absent when the run is
   * small enough for the system's choice (see `sourceOf`).
   */
  source?: SourceEndpoint;
  /**
   * Indexes into the run's URLs in the order a load balancer would try them
   * after a failed attempt, starting with the client's own instance. Absent:
   * the next instance round-robin.
   */
  route?: number[];
}

/**
 * Clients on one server URL past which every client gets its own source
 * endpoint. Linux's connect() picks a source port from the even half of its
 * ephemeral range first (about 14,100 ports of 32768-60999) and, once that
 * half is used towards one destination, walks the whole half again on every
 * further connect before it tries the odd one: measured on this kind of
 * machine, 0.03-0.07 ms of kernel time per connect below 14,000
 * connections to a port and 0.77 ms past it, under the port table's locks,
 * which every shard shares. A 50,000-client run stalled at 42,000
 * connections (3 ports) for 15 s that way. The margin leaves room for
 * reconnects while closing sockets still hold their ports.
 */
export const SYSTEM_PORTS_PER_URL = 10_000;

/**
 * Explicit source ports: 10000-31999, below the ephemeral range, so the
 * system's own choices never take them. A bind to an explicit port costs the
 * kernel no search, and one endpoint may serve connections to several
 * servers (the socket is bound with SO_REUSEADDR, as Node binds them).
 */
export const FIRST_SOURCE_PORT = 10_000;
export const SOURCE_PORTS_PER_ADDRESS = 22_000;

/**
 * The source endpoint of client `index`, or undefined for the system's
 * choice. Past `SYSTEM_PORTS_PER_URL` clients on the busiest URL every client
 * gets an endpoint of its own: 127.0.0.2:10000, 127.0.0.2:10001, ...,
 * 127.0.0.3:10000, ... (127.0.0.1 is left to the system and to servers'
 * listeners). A client the system refuses its endpoint to (a closing socket
 * of its own still holds it) connects from the system's choice instead
 * (see `isSourceRefused`). Only for loopback targets on Linux, where all of
 * 127/8 answers: elsewhere the machine's addresses are not known here.
 */
export function sourceOf(
  index: number,
  clientsPerUrl: number,
  baseUrl: string,
  platform: NodeJS.Platform = process.platform,
): SourceEndpoint | undefined {
  if (clientsPerUrl <= SYSTEM_PORTS_PER_URL || platform !== "linux") return undefined;
  if (!/^127\.\d+\.\d+\.\d+$/.test(new URL(baseUrl).hostname)) return undefined;
  const slot = 1 + Math.floor(index / SOURCE_PORTS_PER_ADDRESS);
  return {
    address: `127.0.${Math.floor(slot / 250)}.${1 + (slot % 250)}`,
    port: FIRST_SOURCE_PORT + (index % SOURCE_PORTS_PER_ADDRESS),
  };
}

export interface AssignOptions {
  count: number;
  channelNames: string[];
  baseUrls: string[];
  seed: number;
  /** How popular each channel is; default even. */
  skew?: ChannelSkew;
  /** pubsub: round-robin over instances; sticky: each channel's instance on a hash ring. */
  routing?: Routing;
}

/**
 * Spreads `count` clients over the channels (by the skew's weights, at least
 * one each, in a seeded random order) and over the server URLs: round-robin,
 * as a load balancer would, or, with sticky routing, every client of a
 * channel to the instance the hash ring picks for it.
 */
export function assignClients(options: AssignOptions): ClientAssignment[] {
  const { count, channelNames, baseUrls, seed } = options;
  const random = seededRandom(seed);
  const perChannel = spreadByWeight(count, channelWeights(options.skew, channelNames.length));
  const channelOf = interleave(perChannel);
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [channelOf[i], channelOf[j]] = [channelOf[j] as number, channelOf[i] as number];
  }
  const routes = options.routing === "sticky" ? stickyRoutes(channelNames, baseUrls.length) : null;
  const assignments = channelOf.map((channelIndex, index): ClientAssignment => {
    const channel = channelNames[channelIndex] as string;
    const route = routes?.get(channel) ?? roundRobinRoute(index % baseUrls.length, baseUrls.length);
    return {
      index,
      baseUrl: baseUrls[route[0] as number] as string,
      channel,
      user: `u${index}`,
      route,
    };
  });
  // Source endpoints by the busiest URL: under sticky routing instances carry unequal shares.
  const perUrl = new Map<string, number>();
  for (const a of assignments) perUrl.set(a.baseUrl, (perUrl.get(a.baseUrl) ?? 0) + 1);
  const clientsPerUrl = Math.max(0, ...perUrl.values());
  for (const assignment of assignments) {
    const source = sourceOf(assignment.index, clientsPerUrl, assignment.baseUrl);
    if (source !== undefined) assignment.source = source;
  }
  return assignments;
}

/** For sticky routing: each channel's instances in hash-ring failover order. */
export function stickyRoutes(channelNames: string[], instances: number): Map<string, number[]> {
  const ring = new HashRing(Array.from({ length: instances }, (_, i) => i));
  return new Map(channelNames.map((channel) => [channel, ring.preference(channel)]));
}

/** Channel indexes taking turns while each has clients left: 0, 1, 2, 0, 1, 2, 0, 0, ... */
function interleave(perChannel: readonly number[]): number[] {
  const order: number[] = [];
  const most = Math.max(0, ...perChannel);
  for (let round = 0; round < most; round++) {
    perChannel.forEach((n, channelIndex) => {
      if (n > round) order.push(channelIndex);
    });
  }
  return order;
}

function roundRobinRoute(first: number, instances: number): number[] {
  return Array.from({ length: instances }, (_, k) => (first + k) % instances);
}

/**
 * Relative popularity of each channel: even, Zipf (channel i, counted from
 * 1, weighs 1 / i^s: room-0 is the most popular), or the scenario's list.
 */
export function channelWeights(skew: ChannelSkew | undefined, channels: number): number[] {
  if (skew === undefined || skew.kind === "even") return Array<number>(channels).fill(1);
  if (skew.kind === "zipf") {
    return Array.from({ length: channels }, (_, i) => 1 / (i + 1) ** skew.exponent);
  }
  return skew.weights.slice(0, channels);
}

/**
 * `total` split by `weights`, at least one each (every channel has a
 * subscriber), the rest by largest remainder so the parts add up exactly.
 * Needs total >= weights.length.
 */
export function spreadByWeight(total: number, weights: readonly number[]): number[] {
  const parts = weights.map(() => 1);
  const rest = total - weights.length;
  if (rest <= 0) return parts.slice(0, Math.max(0, total));
  const sum = weights.reduce((a, b) => a + b, 0);
  const shares = weights.map((w) => (rest * w) / sum);
  const floors = shares.map(Math.floor);
  let left = rest - floors.reduce((a, b) => a + b, 0);
  const byRemainder = shares
    .map((share, i) => [share - (floors[i] as number), i] as const)
    .sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (const [, i] of byRemainder) {
    if (left === 0) break;
    floors[i] = (floors[i] as number) + 1;
    left--;
  }
  return parts.map((one, i) => one + (floors[i] as number));
}

export function channelNames(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}${i}`);
}
