import type { Broker, HistoryRead } from "./broker/types.js";

/**
 * Messages of `channel` after `since`, at most `limit` (and about `maxBytes`). A cursor beyond the
 * channel's last id was not assigned by this history (another instance's,
 * under sticky routing after a failover; or a memory broker's before a
 * restart): the answer restarts from the oldest message held, with a gap
 * marked `reset`, instead of waiting silently for ids to pass the cursor.
 */
export async function readAfter(
  broker: Broker,
  channel: string,
  since: number,
  limit: number,
  maxBytes?: number,
): Promise<HistoryRead> {
  const read = await broker.read(channel, since, limit, maxBytes);
  if (since <= read.lastId) return read;
  const restart = await broker.read(channel, 0, limit, maxBytes);
  const firstId = restart.messages[0]?.id ?? restart.lastId + 1;
  return {
    messages: restart.messages,
    jsons: restart.jsons,
    lastId: restart.lastId,
    gap: { from: 1, to: firstId - 1, reset: true },
  };
}
