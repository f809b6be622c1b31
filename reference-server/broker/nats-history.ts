// The NATS broker's history: one JetStream stream per channel, whose
// sequence is the channel's id (plus the id base). This file names each
// channel's stream and subjects, creates the stream on first use, and reads
// pages back from it with direct gets, applying the history's count and age
// limits exactly. Stored entries are messages without their id (the sequence
// is the id); a reader splices it back in.
import { createHash } from "node:crypto";
import { DiscardPolicy, type JetStreamManager, StorageType } from "@nats-io/jetstream";
import { type Gap, type Message, nowEpochMs } from "../../src/shared/protocol.js";
import type { RawPage } from "./feed-source.js";
import { apiCode, type NatsGuard } from "./nats-guard.js";
import type { HistoryLimits } from "./types.js";

/** Direct gets sent at once while reading a page. */
const READ_BATCH = 64;
const STREAM_NOT_FOUND = 10059;

/** One channel's names in NATS and what this instance knows of its stream. */
export interface ChannelLog {
  readonly stream: string;
  /** The subject the stream captures. */
  readonly subject: string;
  /** The core subject live messages go out on. */
  readonly live: string;
  readonly signal: string;
  /** The channel name as JSON, spliced into every message's JSON. */
  readonly nameJson: string;
  /** Resolves once the stream exists; null until asked. */
  created: Promise<void> | null;
}

export class NatsHistory {
  private readonly channels = new Map<string, ChannelLog>();

  constructor(
    private readonly jsm: JetStreamManager,
    private readonly guard: NatsGuard,
    /** Subject-safe prefix of every stream and subject. */
    private readonly prefix: string,
    private readonly idBase: number,
    private readonly limits: HistoryLimits,
  ) {}

  /** The channel's names (made once, then remembered). */
  channel(name: string): ChannelLog {
    let log = this.channels.get(name);
    if (!log) {
      const token = createHash("sha256").update(name).digest("hex").slice(0, 32);
      log = {
        stream: `${this.prefix}_${token}`,
        subject: `${this.prefix}.h.${token}`,
        live: `${this.prefix}.m.${token}`,
        signal: `${this.prefix}.s.${token}`,
        nameJson: JSON.stringify(name),
        created: null,
      };
      this.channels.set(name, log);
    }
    return log;
  }

  ensureStream(log: ChannelLog): Promise<void> {
    log.created ??= this.guard
      .request("stream creation", async () => {
        // Every instance asks for the same configuration: adding an existing one is a no-op.
        await this.jsm.streams.add({
          name: log.stream,
          subjects: [log.subject],
          storage: StorageType.File,
          discard: DiscardPolicy.Old,
          max_msgs: Math.max(1, this.limits.maxCount),
          max_age: Math.max(1, Math.ceil(this.limits.maxAgeMs)) * 1_000_000,
          allow_direct: true,
          num_replicas: 1,
        });
      })
      .catch((error: unknown) => {
        log.created = null;
        throw error;
      });
    return log.created;
  }

  /** The message a repeated key stored first; trimmed meanwhile, its id with the repeat's body. */
  async storedCopy(log: ChannelLog, seq: number, repeatStored: string): Promise<Message> {
    const stored = await this.guard.request("read", () =>
      this.jsm.direct.getMessage(log.stream, { seq }),
    );
    const message = JSON.parse(stored?.string() ?? repeatStored) as Message;
    message.id = this.idBase + seq;
    return message;
  }

  /**
   * Messages after `since` from the channel's stream, one direct get per
   * sequence, sent {@link READ_BATCH} at a time. The stream keeps maxCount
   * messages (at least 1, so its last sequence always survives) and drops
   * them after maxAge; the read applies both limits exactly as well.
   */
  async readRaw(channel: string, since: number, limit: number, maxBytes: number): Promise<RawPage> {
    const log = this.channel(channel);
    const state = await this.streamState(log);
    const lastId = this.idBase + state.last;
    const cutoffMs = nowEpochMs() - this.limits.maxAgeMs;
    let oldestSeq = Math.max(state.first, state.last - this.limits.maxCount + 1, 1);
    let seq = Math.max(since - this.idBase + 1, oldestSeq);
    const jsons: string[] = [];
    let bytes = 0;
    let full = false;
    while (!full && jsons.length < limit && seq <= state.last) {
      const batch: number[] = [];
      for (; batch.length < READ_BATCH && seq <= state.last; seq++) batch.push(seq);
      const stored = await this.guard.request("read", () =>
        Promise.all(batch.map((s) => this.jsm.direct.getMessage(log.stream, { seq: s }))),
      );
      for (const [index, message] of stored.entries()) {
        const entry = message?.string();
        const entrySeq = batch[index] as number;
        // Gone from the stream, or older than maxAge: before everything a reader may see.
        if (entry === undefined || tsOf(entry) < cutoffMs) {
          if (jsons.length === 0) oldestSeq = Math.max(oldestSeq, entrySeq + 1);
          continue;
        }
        const json = withId(this.idBase + entrySeq, entry);
        if (jsons.length >= limit || (jsons.length > 0 && bytes + json.length > maxBytes)) {
          full = true;
          break;
        }
        jsons.push(json);
        bytes += json.length;
      }
    }
    const oldestId = this.idBase + oldestSeq;
    let gap: Gap | undefined;
    if (since < lastId && since + 1 < oldestId) {
      gap = { from: since + 1, to: Math.min(oldestId, lastId + 1) - 1 };
    }
    return { lastId, jsons, gap };
  }

  async lastId(channel: string): Promise<number> {
    return this.idBase + (await this.streamState(this.channel(channel))).last;
  }

  /** The stream's first and last sequence; a stream that does not exist yet has none. */
  private async streamState(log: ChannelLog): Promise<{ first: number; last: number }> {
    try {
      const info = await this.guard.request("read", () => this.jsm.streams.info(log.stream));
      return { first: info.state.first_seq, last: info.state.last_seq };
    } catch (error) {
      if (apiCode(error) === STREAM_NOT_FOUND) {
        return { first: 1, last: 0 };
      }
      throw error;
    }
  }
}

/** A stored entry (`{"channel":..,"ts":..,"body":..}`) as the message JSON with its id first. */
export function withId(id: number, stored: string): string {
  return `{"id":${id},${stored.slice(1)}`;
}

/** The `ts` of a message JSON (its first `"ts":` is the field; see redis-scripts.ts). */
function tsOf(json: string): number {
  const match = /"ts":([^,]+),/.exec(json);
  return match ? Number(match[1]) : Number.POSITIVE_INFINITY;
}
