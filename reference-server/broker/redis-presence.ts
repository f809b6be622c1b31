import type { ScriptedRedis } from "./redis-connections.js";
import type { RedisGuard } from "./redis-guard.js";

/**
 * How long a presence touch waits for company before it goes to Redis. Every
 * client touches its channel when it connects and on every heartbeat, so
 * during a ramp-up of 1,250 connections/s, or a heartbeat round at 50,000
 * connections, one command per touch costs each instance a socket write and
 * Redis a read per client (measured: a fifth of the servers' CPU in a 50k SSE
 * ramp-up). Batched, a window's touches leave in one write.
 */
const PRESENCE_BATCH_MS = 20;
/** Users per script call; more go in further calls of the same batch. */
const USERS_PER_CALL = 1000;

interface PendingTouches {
  key: string;
  ttlMs: number;
  users: Set<string>;
}

/**
 * Presence touches collected for {@link PRESENCE_BATCH_MS} and sent as one
 * pipeline: one script call per channel key (and TTL), all of its users in it.
 * A touch's promise settles when its batch's answer arrives, so a caller that
 * awaits it knows the touch is stored, as with a command of its own; other
 * instances see it up to one window later than they would have.
 */
export class PresenceBatcher {
  private pending = new Map<string, PendingTouches>();
  private batch: Promise<void> | null = null;
  private timer: NodeJS.Timeout | undefined;
  private sendNow: (() => void) | undefined;

  constructor(
    private readonly redis: ScriptedRedis,
    private readonly guard: RedisGuard,
  ) {}

  touch(key: string, user: string, ttlMs: number): Promise<void> {
    const ttl = Math.max(1, Math.ceil(ttlMs));
    const group = `${ttl} ${key}`;
    let touches = this.pending.get(group);
    if (touches === undefined) {
      touches = { key, ttlMs: ttl, users: new Set() };
      this.pending.set(group, touches);
    }
    touches.users.add(user);
    this.batch ??= this.schedule();
    return this.batch;
  }

  /** Sends what is waiting now; resolves when it is stored (at once when nothing waits). */
  flush(): Promise<void> {
    const batch = this.batch;
    if (batch === null) return Promise.resolve();
    this.sendNow?.();
    return batch;
  }

  private schedule(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const send = () => {
        clearTimeout(this.timer);
        this.sendNow = undefined;
        this.send().then(resolve, reject);
      };
      this.sendNow = send;
      this.timer = setTimeout(send, PRESENCE_BATCH_MS);
    });
  }

  private async send(): Promise<void> {
    const pending = this.pending;
    this.pending = new Map();
    this.batch = null;
    const pipeline = this.redis.pipeline();
    const nowMs = Date.now();
    for (const { key, ttlMs, users } of pending.values()) {
      const all = [...users];
      for (let i = 0; i < all.length; i += USERS_PER_CALL) {
        pipeline.rtbenchTouchPresence(key, nowMs, ttlMs, ...all.slice(i, i + USERS_PER_CALL));
      }
    }
    const replies = (await this.guard.run("presence", () => pipeline.exec())) ?? [];
    const failed = replies.find(([error]) => error !== null);
    if (failed) throw failed[0];
  }
}
