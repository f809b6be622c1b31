/**
 * Channel membership for tiered fan-out: every client is a member of its
 * channel, and `clients.members - clients.count` more members that never
 * connect are spread over the channels by the same skew. They are
 * registered with `PUT /api/members/C` before any client connects.
 */

import type { ChannelSkew } from "../../scenario/types.js";
import { ROUTES } from "../../shared/protocol.js";
import { authHeaders } from "../../shared/server-launch.js";
import type { ClientAssignment } from "./assign.js";
import { channelWeights, spreadByWeight } from "./assign.js";

/** Users per request (the reference server takes up to 10,000). */
const USERS_PER_REQUEST = 5000;

/** Members by channel: the clients assigned to it, then offline-only members `m<i>`. */
export function channelMembers(
  clients: readonly ClientAssignment[],
  channels: readonly string[],
  totalMembers: number,
  skew: ChannelSkew,
): Map<string, string[]> {
  const members = new Map<string, string[]>(channels.map((c) => [c, []]));
  for (const client of clients) members.get(client.channel)?.push(client.user);
  const extra = Math.max(0, totalMembers - clients.length);
  if (extra === 0) return members;
  const weights = channelWeights(skew, channels.length);
  // Spread without the at-least-one rule: a channel may have no offline member.
  const perChannel = spreadByWeight(extra + channels.length, weights).map((n) => n - 1);
  let next = clients.length;
  channels.forEach((channel, i) => {
    const list = members.get(channel) as string[];
    for (let k = 0; k < (perChannel[i] ?? 0); k++) list.push(`m${next++}`);
  });
  return members;
}

/** Registers the members of each channel on the instance that serves it. */
export async function registerMembers(
  members: ReadonlyMap<string, readonly string[]>,
  urlFor: (channel: string) => string,
  /** The server's token (`server.auth`); null: none. */
  auth: string | null,
): Promise<void> {
  for (const [channel, users] of members) {
    const path = ROUTES.members.replace("{channel}", encodeURIComponent(channel));
    for (let i = 0; i < users.length; i += USERS_PER_REQUEST) {
      const response = await fetch(`${urlFor(channel)}${path}`, {
        method: "PUT",
        headers: { "content-type": "application/json", ...authHeaders(auth) },
        body: JSON.stringify({ users: users.slice(i, i + USERS_PER_REQUEST) }),
        signal: AbortSignal.timeout(10_000),
      });
      const text = await response.text();
      if (!response.ok) {
        throw new Error(`PUT ${path} answered ${response.status}: ${text.slice(0, 200)}`);
      }
    }
  }
}
