import type { PresenceEvent } from "../shared/protocol.js";
import type { WireSink } from "./dialect.js";
import type { ClientHandlers } from "./types.js";

/**
 * The sink of a client that only passes on what its dialect read: to the
 * handlers, keeping the last message's id as the cursor to resume from.
 */
export class HandlerSink implements WireSink {
  cursor: string | undefined;

  constructor(
    private readonly handlers: ClientHandlers,
    since: string | undefined,
  ) {
    this.cursor = since;
  }

  message(id: string, body: unknown): void {
    this.cursor = id;
    this.handlers.onMessage(id, body);
  }

  gap(from: string, to: string, reset?: boolean): void {
    this.handlers.onGap(from, to, reset);
  }

  unrecognised(what?: string, frame?: unknown): void {
    this.handlers.onUnrecognised(what, frame);
  }

  presence(events: readonly PresenceEvent[]): void {
    this.handlers.onPresence?.(events);
  }
}
