// The NATS broker's requests and what their failures mean: a JetStream API
// error (a stream not found) is the caller's to handle; anything else is
// NATS being away or slow, which turns into a BrokerUnavailableError (a 503)
// and, for a timeout, marks since when NATS has been silent (its health).
// redis-guard.ts does the same job for the Redis brokers.
import { errorText } from "../../src/shared/errors.js";
import { BrokerUnavailableError } from "./types.js";

export class NatsGuard {
  /** Since when (epoch ms) requests have been timing out; null while NATS answers. */
  silentSinceMs: number | null = null;

  /** Runs `command`; an answer clears the silence, a failure other than an API error is unavailability. */
  async request<T>(operation: string, command: () => Promise<T>): Promise<T> {
    try {
      const result = await command();
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
