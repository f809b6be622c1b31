import { seededRandom } from "../util/random.js";

export interface ClientAssignment {
  /** Global client index, 0-based: the order in which clients connect during ramp-up. */
  index: number;
  baseUrl: string;
  channel: string;
  user: string;
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
  return channelOf.map((channelIndex, index) => ({
    index,
    baseUrl: baseUrls[index % baseUrls.length] as string,
    channel: channelNames[channelIndex] as string,
    user: `u${index}`,
  }));
}

export function channelNames(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}${i}`);
}
