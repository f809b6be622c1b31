// The NATS broker's requests and what their failures mean: a JetStream API
// error (a stream not found) is the caller's to handle; anything else is
// NATS being away or slow, which turns into a BrokerUnavailableError (a 503)
// and, for a timeout, marks since when NATS has been silent (its health).
// While the connection is down, requests fail at once, as the Redis brokers'
// commands do (no offline queue there): nats.js empties its outbound buffer
// at every reconnect attempt, so a request written meanwhile is never sent
// and would only wait out its timeout, a 503 long after NATS was back (and a
// publisher's retry stored that late). redis-guard.ts does the same job for
// the Redis brokers.
import { errorText } from "../../src/shared/errors.js";
import { BrokerUnavailableError } from "./types.js";

export class NatsGuard {
  /** Since when (epoch ms) requests have been timing out; null while NATS answers. */
  silentSinceMs: number | null = null;
  /** Between a "disconnect" of the connection and its "reconnect". */
  down = false;
  /** Rejects when the connection drops; a new one each time it comes back. */
  private dropped = droppedSignal();

  /** The connection dropped: requests in flight fail now, new ones at once until {@link up}. */
  dropConnection(): void {
    this.down = true;
    this.dropped.reject(new Error("the connection to NATS dropped"));
  }

  /** The connection is back: requests are sent again. */
  up(): void {
    if (!this.down) return;
    this.down = false;
    this.dropped = droppedSignal();
  }

  /**
   * Throws while the connection is down: nothing would be sent (so a publish
   * is surely not stored). Call before sending what {@link whileConnected} waits for.
   */
  ensureConnected(operation: string): void {
    if (!this.down) return;
    const effect = operation === "publish" ? "; the message was not stored" : "";
    throw new BrokerUnavailableError(
      `NATS ${operation} failed: the connection to NATS is down (reconnecting)${effect}`,
    );
  }

  /**
   * `pending`, or a rejection as soon as the connection drops: an answer
   * cannot come over a connection that is gone (what was written may or may
   * not have reached NATS).
   */
  whileConnected<T>(pending: Promise<T>): Promise<T> {
    return Promise.race([pending, this.dropped.promise]);
  }

  /** Runs `command`; an answer clears the silence, a failure other than an API error is unavailability. */
  async request<T>(operation: string, command: () => Promise<T>): Promise<T> {
    this.ensureConnected(operation);
    try {
      const result = await this.whileConnected(command());
      this.silentSinceMs = null;
      return result;
    } catch (error) {
      if (apiCode(error) !== undefined) {
        throw error;
      }
      throw this.unavailable(operation, error);
    }
  }

  /** NATS answered something: it is not silent. */
  answered(): void {
    this.silentSinceMs = null;
  }

  unavailable(operation: string, error: unknown): BrokerUnavailableError {
    const text = errorText(error);
    if (/timeout/i.test(text)) this.silentSinceMs ??= Date.now();
    const effect = operation === "publish" ? "; the message may or may not have been stored" : "";
    return new BrokerUnavailableError(`NATS ${operation} failed: ${text}${effect}`, {
      cause: error,
    });
  }
}

/** The JetStream API error code of `error`, if it is one. */
export function apiCode(error: unknown): number | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const api = (error as { api_error?: { err_code?: number } }).api_error;
  if (typeof api?.err_code === "number") return api.err_code;
  const code = (error as { code?: unknown }).code;
  return typeof code === "number" && code >= 10000 ? code : undefined;
}

/** A promise that rejects on `reject()`, already handled so a drop with nothing in flight is no unhandled rejection. */
function droppedSignal(): { promise: Promise<never>; reject: (error: Error) => void } {
  let reject: (error: Error) => void = () => {};
  const promise = new Promise<never>((_resolve, fail) => {
    reject = fail;
  });
  promise.catch(() => {});
  return { promise, reject };
}
