import { seededRandom } from "../util/random.js";

export interface ClientAssignment {
  /** Global client index, 0-based: the order in which clients connect during ramp-up. */
  index: number;
  baseUrl: string;
  channel: string;
  user: string;
  /**
   * Source address of the client's sockets (127.0.0.2, ...); absent when the
   * run is small enough for the system's choice (see `sourceAddressOf`).
   */
  localAddress?: string;
}

/**
 * Connections one source address may carry when addresses are assigned.
 * Linux has about 28,000 ephemeral ports (32768-60999) per source address;
 * the margin leaves room for reconnects while old sockets still hold ports.
 */
export const CONNECTIONS_PER_SOURCE_ADDRESS = 25_000;

/**
 * The loopback source address of client `index`, or undefined. A connection
 * the system binds itself is unique per destination, so each server port
 * takes about 28,000 from one address; past that many clients on one URL,
 * every client gets an explicit address, `CONNECTIONS_PER_SOURCE_ADDRESS`
 * clients per address whatever server they connect or reconnect to
 * (127.0.0.1, 127.0.0.2, ...). Only for loopback targets: elsewhere the
 * machine's own addresses are unknown here.
 */
export function sourceAddressOf(
  index: number,
  clientsPerUrl: number,
  baseUrl: string,
): string | undefined {
  if (clientsPerUrl <= CONNECTIONS_PER_SOURCE_ADDRESS) return undefined;
  if (!/^127\.\d+\.\d+\.\d+$/.test(new URL(baseUrl).hostname)) return undefined;
  const slot = Math.floor(index / CONNECTIONS_PER_SOURCE_ADDRESS);
  return `127.0.${Math.floor(slot / 250)}.${1 + (slot % 250)}`;
}

/**
 * Spreads `count` clients evenly over `channels` (the same number per channel,
 * ±1, in a seeded random order) and over the server URLs round-robin, as a
 * load balancer would.
 */
export function assignClients(
  count: number,
  channelNames: string[],
  baseUrls: string[],
  seed: number,
): ClientAssignment[] {
  const random = seededRandom(seed);
  const channelOf = Array.from({ length: count }, (_, i) => i % channelNames.length);
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [channelOf[i], channelOf[j]] = [channelOf[j] as number, channelOf[i] as number];
  }
  const clientsPerUrl = Math.ceil(count / Math.max(1, baseUrls.length));
  return channelOf.map((channelIndex, index) => {
    const baseUrl = baseUrls[index % baseUrls.length] as string;
    const assignment: ClientAssignment = {
      index,
      baseUrl,
      channel: channelNames[channelIndex] as string,
      user: `u${index}`,
    };
    const localAddress = sourceAddressOf(index, clientsPerUrl, baseUrl);
    if (localAddress !== undefined) assignment.localAddress = localAddress;
    return assignment;
  });
}

export function channelNames(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}${i}`);
}
