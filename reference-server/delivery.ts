// One live message's wire forms (SSE event, WebSocket frame, notify frame,
// HTTP chunk), each built at most once and shared by every subscriber, and
// what a transport implements to receive them (Subscriber). The hub
// (hub.ts) hands both out; the transports write the bytes.
import type { Gap, Message } from "../src/shared/protocol.js";
import { httpChunk, wsTextFrame } from "./wire.js";

/**
 * One live message on its way to this instance's subscribers. Each wire form is
 * built at most once, on first use, and the same bytes go to every subscriber:
 * fan-out to N sockets costs N writes, not N serialisations.
 */
export class Delivery {
  private sse: Buffer | undefined;
  private ws: Buffer | undefined;
  private notice: Buffer | undefined;
  private sseChunk: Buffer | undefined;
  private wsWire: Buffer | undefined;

  constructor(
    readonly message: Message,
    readonly json: string,
  ) {}

  get id(): number {
    return this.message.id;
  }

  /** `id: N\nevent: message\ndata: <json>\n\n` */
  get sseFrame(): Buffer {
    this.sse ??= Buffer.from(`id: ${this.message.id}\nevent: message\ndata: ${this.json}\n\n`);
    return this.sse;
  }

  /** `{"type":"message",...message}` as UTF-8, ready for a text frame. */
  get wsFrame(): Buffer {
    // The broker's JSON starts with `{"id":`, so splicing keeps the one serialisation.
    this.ws ??= Buffer.from(`{"type":"message",${this.json.slice(1)}`);
    return this.ws;
  }

  /** Read fan-out: `{"type":"notify","lastId":N}`, the same bytes for every subscriber. */
  get notifyFrame(): Buffer {
    this.notice ??= Buffer.from(`{"type":"notify","lastId":${this.message.id}}`);
    return this.notice;
  }

  /** `wsFrame` inside its RFC 6455 frame header: the exact bytes every WebSocket gets. */
  get wsWireFrame(): Buffer {
    this.wsWire ??= wsTextFrame(this.wsFrame);
    return this.wsWire;
  }

  /** `sseFrame` as one HTTP/1.1 chunk: the exact bytes every chunked SSE response gets. */
  get sseHttpChunk(): Buffer {
    this.sseChunk ??= httpChunk(this.sseFrame);
    return this.sseChunk;
  }
}

/** What a transport implements to receive a channel's messages through the hub. */
export interface Subscriber {
  deliver(delivery: Delivery): void;
  gap(gap: Gap): void;
  /** Read fan-out: told that `delivery` exists instead of sent it; without this, sent it. */
  notify?(delivery: Delivery): void;
  /** A presence event frame (`{"type":"presence",...}`), the same bytes for every subscriber. */
  presence?(frame: Buffer): void;
  /**
   * Null while the subscriber's socket takes more; otherwise a promise that
   * settles once it drained or closed. History replay waits on it, so a
   * subscriber catching up holds about one socket buffer, not the history.
   */
  backlog?(): Promise<void> | null;
}
