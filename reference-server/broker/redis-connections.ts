import { type ChainableCommander, Redis } from "ioredis";
import { errorText, RtbenchError } from "../../src/shared/errors.js";
import { failFastOptions } from "./redis-guard.js";
import {
  EPOCH_SCRIPT,
  MEMBER_OFFLINE_SCRIPT,
  MEMBER_ONLINE_SCRIPT,
  PUBLISH_SCRIPT,
  PUBLISH_TIERED_SCRIPT,
  RAISE_COUNTER_SCRIPT,
  READ_SCRIPT,
  SPUBLISH_SCRIPT,
  SPUBLISH_TIERED_SCRIPT,
  STREAM_PUBLISH_SCRIPT,
  STREAM_PUBLISH_TIERED_SCRIPT,
  STREAM_READ_SCRIPT,
  TOUCH_PRESENCE_SCRIPT,
} from "./redis-scripts.js";

/** The Redis brokers: one set of connections and scripts, three ways to store and fan out. */
export type RedisKind = "redis" | "redis-sharded" | "redis-streams";

/** The publish and read scripts of each Redis broker kind (redis-scripts.ts). */
const SCRIPTS: Record<RedisKind, { publish: string; publishTiered: string; read: string }> = {
  redis: { publish: PUBLISH_SCRIPT, publishTiered: PUBLISH_TIERED_SCRIPT, read: READ_SCRIPT },
  "redis-sharded": {
    publish: SPUBLISH_SCRIPT,
    publishTiered: SPUBLISH_TIERED_SCRIPT,
    read: READ_SCRIPT,
  },
  "redis-streams": {
    publish: STREAM_PUBLISH_SCRIPT,
    publishTiered: STREAM_PUBLISH_TIERED_SCRIPT,
    read: STREAM_READ_SCRIPT,
  },
};

/** The Redis broker's three connections, opened together, with its scripts defined. */

/** TOUCH_PRESENCE_SCRIPT's key and arguments. */
type TouchPresenceArgs = [key: string, nowMs: number, ttlMs: number, ...users: string[]];

/** A connection with the broker's Lua scripts as commands (redis-scripts.ts). */
export interface ScriptedRedis extends Redis {
  rtbenchPublish(
    counterKey: string,
    historyKey: string,
    channelJson: string,
    tsJson: string,
    bodyJson: string,
    maxCount: number,
    cutoffMs: number,
    pubsubChannel: string,
    historyTtlMs: number,
    floorId: number,
    deadlineMs: number,
    dedupeKey: string,
    dedupeWindowMs: number,
  ): Promise<string>;
  rtbenchRead(
    counterKey: string,
    historyKey: string,
    since: number,
    limit: number,
    cutoffMs: number,
    maxBytes: number,
    /** redis-streams only: the count limit reads apply (MAXLEN ~ keeps a few more). */
    maxCount: number,
  ): Promise<[number, number, string[]]>;
  rtbenchTouchPresence(...args: TouchPresenceArgs): Promise<number>;
  rtbenchRaiseCounter(counterKey: string, floorId: number): Promise<number>;
  rtbenchEpoch(epochKey: string, candidate: string): Promise<string>;
  rtbenchPublishTiered(...keysThenArgv: (string | number)[]): Promise<string>;
  rtbenchMemberOnline(...args: string[]): Promise<[number, number] | null>;
  rtbenchMemberOffline(...args: (string | number)[]): Promise<number>;
  pipeline(commands?: unknown[][]): ScriptedPipeline;
}

/** A pipeline of a {@link ScriptedRedis}: the scripts queue like any command. */
export interface ScriptedPipeline extends ChainableCommander {
  rtbenchTouchPresence(...args: TouchPresenceArgs): ScriptedPipeline;
}

export interface RedisConnections {
  /** Publishes (and the health probe). */
  commands: ScriptedRedis;
  /** History reads and presence. */
  reads: ScriptedRedis;
  subscriber: Redis;
}

/** Connects all three or none; an unreachable Redis is a RUN_FAILED error. */
export async function connectRedis(
  url: string,
  commandTimeoutMs: number,
  kind: RedisKind = "redis",
): Promise<RedisConnections> {
  const commands = new Redis(url, failFastOptions(commandTimeoutMs)) as ScriptedRedis;
  // History reads get their own connection: replies to a connection come in
  // order, so a publish must not wait behind megabytes of poll answers.
  const reads = new Redis(url, failFastOptions(commandTimeoutMs)) as ScriptedRedis;
  const subscriber = new Redis(url, failFastOptions(commandTimeoutMs));
  const all = [commands, reads, subscriber];
  // Without a listener ioredis prints every connection error with a stack
  // ("Unhandled error event"); keep the first one for the message instead.
  let firstError: string | undefined;
  const remember = (error: Error) => {
    firstError ??= error.message;
  };
  for (const redis of all) redis.on("error", remember);
  try {
    await Promise.all(all.map((redis) => redis.connect()));
  } catch (error) {
    for (const redis of all) redis.disconnect();
    const reason = firstError ?? errorText(error);
    throw new RtbenchError("RUN_FAILED", `redis broker: cannot connect to ${url}: ${reason}`, {
      cause: error,
    });
  }
  for (const redis of all) redis.off("error", remember);
  const scripts = SCRIPTS[kind];
  commands.defineCommand("rtbenchPublish", { numberOfKeys: 2, lua: scripts.publish });
  reads.defineCommand("rtbenchRead", { numberOfKeys: 2, lua: scripts.read });
  reads.defineCommand("rtbenchTouchPresence", { numberOfKeys: 1, lua: TOUCH_PRESENCE_SCRIPT });
  commands.defineCommand("rtbenchPublishTiered", { numberOfKeys: 5, lua: scripts.publishTiered });
  commands.defineCommand("rtbenchRaiseCounter", { numberOfKeys: 1, lua: RAISE_COUNTER_SCRIPT });
  commands.defineCommand("rtbenchEpoch", { numberOfKeys: 1, lua: EPOCH_SCRIPT });
  commands.defineCommand("rtbenchMemberOnline", { numberOfKeys: 5, lua: MEMBER_ONLINE_SCRIPT });
  commands.defineCommand("rtbenchMemberOffline", { numberOfKeys: 5, lua: MEMBER_OFFLINE_SCRIPT });
  return { commands, reads, subscriber };
}

export async function closeConnection(redis: Redis): Promise<void> {
  if (redis.status === "ready") {
    try {
      await redis.quit();
      return;
    } catch {
      // fall through: the connection broke while quitting
    }
  }
  redis.disconnect();
}
