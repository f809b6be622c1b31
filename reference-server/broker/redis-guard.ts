import type { Redis, RedisOptions } from "ioredis";
import { type BrokerHealth, BrokerUnavailableError } from "./types.js";

/** How long a Redis command may go unanswered before it fails (503) by default. */
export const DEFAULT_REDIS_COMMAND_TIMEOUT_MS = 2000;
/** How often Redis is asked the time, to notice a frozen Redis with nobody publishing. */
const PROBE_INTERVAL_MS = 1000;

/** What a command was for; error messages say what may or may not have happened. */
export type RedisOperation = "publish" | "read" | "presence" | "subscribe";

/**
 * ioredis options for a connection whose commands fail fast while Redis is
 * away or frozen, instead of waiting for it.
 */
export function failFastOptions(commandTimeoutMs: number): RedisOptions {
  return {
    lazyConnect: true,
    // Reconnect quickly and forever; a benchmark's Redis restart lasts seconds.
    retryStrategy: (attempt) => Math.min(attempt * 100, 1000),
    // A command without a reply in time is rejected. ioredis still leaves it
    // queued on the socket, so a frozen Redis runs it when it wakes up; the
    // publish script refuses to run after its deadline (see RedisGuard).
    commandTimeout: commandTimeoutMs,
    // No queue while disconnected: a command fails at once rather than waiting
    // for the reconnect, and cannot be sent long after its caller gave up
    // (a timed-out command in the offline queue would still be replayed).
    enableOfflineQueue: false,
    // Commands in flight when the connection drops are rejected on the drop...
    maxRetriesPerRequest: 0,
    // ...and not sent again after the reconnect.
    autoResendUnfulfilledCommands: false,
  };
}

/**
 * Tracks whether Redis answers, from the commands' own outcomes and a probe
 * once a second, and turns "Redis is away" failures into
 * BrokerUnavailableError with a message that says what happened to the
 * operation. The probe also measures Redis's clock against ours, so a
 * publish can carry a deadline in Redis's time.
 */
export class RedisGuard {
  /** Clock of Redis minus ours, in ms (same host: about 0). */
  clockOffsetMs = 0;
  /** Since when (epoch ms) commands have been timing out; null while Redis answers. */
  private silentSinceMs: number | null = null;
  private probing = false;
  private timer: NodeJS.Timeout | undefined;

  /** `command` carries publishes and the probe; every connection must be up for "ok". */
  constructor(
    private readonly connections: { command: Redis } & Record<string, Redis>,
    readonly commandTimeoutMs: number,
    private readonly url: string,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.probe(), PROBE_INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Asks Redis the time: proves it answers and measures the clock offset. */
  async probe(): Promise<void> {
    const { command } = this.connections;
    if (this.probing || command.status !== "ready") return;
    this.probing = true;
    const beforeMs = Date.now();
    try {
      const [seconds, micros] = await this.run("read", () => command.time());
      const redisMs = Number(seconds) * 1000 + Number(micros) / 1000;
      this.clockOffsetMs = redisMs - (beforeMs + Date.now()) / 2;
    } catch {
      // run() recorded the failure; health() reports it.
    } finally {
      this.probing = false;
    }
  }

  health(): BrokerHealth {
    for (const [name, connection] of Object.entries(this.connections)) {
      if (connection.status !== "ready") {
        return {
          state: "unavailable",
          reason: `${name} connection to Redis at ${this.url} is down (${connection.status})`,
        };
      }
    }
    if (this.silentSinceMs !== null) {
      return {
        state: "unavailable",
        reason: `Redis at ${this.url} has not answered within ${this.commandTimeoutMs} ms since ${new Date(this.silentSinceMs).toISOString()}`,
      };
    }
    return { state: "ok" };
  }

  /**
   * The time, in Redis's clock (epoch ms), after which Redis refuses a publish
   * sent now. Half the command timeout: a publish Redis runs in time still has
   * the other half for its reply, so a timed-out publish was not stored.
   */
  publishDeadlineMs(): number {
    return Date.now() + this.clockOffsetMs + this.commandTimeoutMs / 2;
  }

  /** Runs `command`; failures that mean Redis is away become BrokerUnavailableError. */
  async run<T>(operation: RedisOperation, command: () => Promise<T>): Promise<T> {
    try {
      const result = await command();
      this.silentSinceMs = null;
      return result;
    } catch (error) {
      throw this.classify(operation, error);
    }
  }

  private classify(operation: RedisOperation, error: unknown): unknown {
    if (!(error instanceof Error)) return error;
    const unavailable = (message: string) => new BrokerUnavailableError(message, { cause: error });
    const message = error.message;
    if (message === "Command timed out") {
      this.silentSinceMs ??= Date.now();
      return unavailable(
        operation === "publish"
          ? `Redis did not answer within ${this.commandTimeoutMs} ms; the message was not stored (Redis refuses a publish that reaches it after its deadline)`
          : `Redis did not answer within ${this.commandTimeoutMs} ms`,
      );
    }
    if (message.startsWith("RTBENCH_LATE")) {
      return unavailable(
        `Redis ran the publish after its deadline (${message.slice(13)} ms late) and refused it; the message was not stored`,
      );
    }
    if (error.name === "ReplyError") {
      // Redis answered: only a Redis that is starting or busy counts as away.
      return /^(LOADING|BUSY|MASTERDOWN|TRYAGAIN|CLUSTERDOWN)/.test(message)
        ? unavailable(`Redis cannot serve now: ${message}`)
        : error;
    }
    if (error.name === "MaxRetriesPerRequestError" || message === "Connection is closed.") {
      return unavailable(
        operation === "publish"
          ? "the connection to Redis was lost while the publish was in flight; it may or may not have been stored"
          : `the connection to Redis was lost during the ${operation}`,
      );
    }
    if (message.includes("enableOfflineQueue")) {
      return unavailable(
        `the connection to Redis at ${this.url} is down (reconnecting); the ${operation} was not sent`,
      );
    }
    return unavailable(`Redis ${operation} failed: ${message}`);
  }
}

/**
 * At most `max` operations in flight; the rest wait their turn in order.
 * Redis runs a connection's pipelined commands back to back before it serves
 * another connection, so a deep pipeline of history reads would delay every
 * publish by all of them.
 */
export class InFlightLimit {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly max: number) {}

  async run<T>(operation: () => Promise<T>): Promise<T> {
    if (this.running >= this.max) {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running++;
    }
    try {
      return await operation();
    } finally {
      const next = this.waiting.shift();
      // The slot passes straight to the next waiter, so `running` stays as it is.
      if (next) next();
      else this.running--;
    }
  }
}
