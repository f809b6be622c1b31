/**
 * Incremental `text/event-stream` parser, per the WHATWG HTML spec
 * ("Server-sent events", "Event stream interpretation").
 *
 * Feed it Buffers or strings cut anywhere: inside a field, inside a multi-byte
 * UTF-8 character, or between the CR and the LF of a CRLF. It keeps only the
 * unfinished line and the event being built; complete lines are scanned in
 * place, so the cost per byte is a character comparison.
 *
 * What it keeps is bounded (bounds.ts): a line or an event longer than its
 * bound throws (`boundCrossed`), and its owner cuts the stream, so a server
 * that never ends a line cannot take the generator's memory.
 */
import { boundCrossed, MAX_SSE_EVENT_LENGTH, MAX_SSE_LINE_LENGTH } from "./bounds.js";

export interface SseParserCallbacks {
  /** A complete event. `type` defaults to "message"; `lastEventId` persists across events. */
  onEvent(type: string, data: string, lastEventId: string): void;
  /** A valid `retry:` field (digits only), in milliseconds. */
  onRetry?(ms: number): void;
  /** A comment line (`: text`), which servers use as heartbeats. `text` excludes the colon. */
  onComment?(text: string): void;
}

const LF = 10;
const CR = 13;
const SPACE = 32;
const BOM = 0xfeff;
const DIGITS_ONLY = /^[0-9]+$/;

/** The parser's bounds, in characters; the defaults are bounds.ts's. */
export interface SseParserLimits {
  maxLineLength: number;
  maxEventLength: number;
}

const DEFAULT_LIMITS: SseParserLimits = {
  maxLineLength: MAX_SSE_LINE_LENGTH,
  maxEventLength: MAX_SSE_EVENT_LENGTH,
};

export class SseParser {
  private readonly callbacks: SseParserCallbacks;
  // ignoreBOM keeps the BOM in the text, so one rule strips it for Buffers and strings alike.
  private readonly decoder = new TextDecoder("utf-8", { ignoreBOM: true });
  /** Text of a line that has not ended yet. */
  private pending = "";
  /** The previous chunk ended in CR: an LF opening the next chunk belongs to that line end. */
  private skipLeadingLf = false;
  private atStreamStart = true;
  private data = "";
  private hasData = false;
  private eventType = "";
  private lastEventIdBuffer = "";

  constructor(
    callbacks: SseParserCallbacks,
    private readonly limits: SseParserLimits = DEFAULT_LIMITS,
  ) {
    this.callbacks = callbacks;
  }

  /** The last event id seen so far (persists across events, as in EventSource). */
  get lastEventId(): string {
    return this.lastEventIdBuffer;
  }

  feed(chunk: Buffer | Uint8Array | string): void {
    const text = typeof chunk === "string" ? chunk : this.decoder.decode(chunk, { stream: true });
    if (text.length === 0) return;
    let start = 0;
    if (this.atStreamStart) {
      this.atStreamStart = false;
      if (text.charCodeAt(0) === BOM) start = 1;
    }
    if (this.skipLeadingLf) {
      this.skipLeadingLf = false;
      if (text.charCodeAt(start) === LF) start++;
    }
    const length = text.length;
    let lineStart = start;
    for (let i = start; i < length; i++) {
      const code = text.charCodeAt(i);
      if (code !== LF && code !== CR) continue;
      if (this.pending.length > 0) {
        this.processLine(this.pending + text.slice(lineStart, i));
        this.pending = "";
      } else {
        this.processLine(text.slice(lineStart, i));
      }
      if (code === CR) {
        if (i + 1 === length) this.skipLeadingLf = true;
        else if (text.charCodeAt(i + 1) === LF) i++;
      }
      lineStart = i + 1;
    }
    if (lineStart < length) {
      this.pending += text.slice(lineStart);
      if (this.pending.length > this.limits.maxLineLength) this.overflow("SSE line");
    }
  }

  /** Forgets everything, including the last event id: for a new stream. */
  reset(): void {
    this.pending = "";
    this.skipLeadingLf = false;
    this.atStreamStart = true;
    this.data = "";
    this.hasData = false;
    this.eventType = "";
    this.lastEventIdBuffer = "";
    this.decoder.decode();
  }

  private processLine(line: string): void {
    if (line.length > this.limits.maxLineLength) this.overflow("SSE line");
    if (line.length === 0) {
      this.dispatch();
      return;
    }
    const colon = line.indexOf(":");
    if (colon === 0) {
      this.callbacks.onComment?.(line.slice(1));
      return;
    }
    let field: string;
    let value: string;
    if (colon < 0) {
      field = line;
      value = "";
    } else {
      field = line.slice(0, colon);
      const valueStart = line.charCodeAt(colon + 1) === SPACE ? colon + 2 : colon + 1;
      value = line.slice(valueStart);
    }
    switch (field) {
      case "data":
        // The spec appends value + LF and trims the final LF at dispatch; joining is the same.
        if (this.hasData) this.data += `\n${value}`;
        else {
          this.data = value;
          this.hasData = true;
        }
        if (this.data.length > this.limits.maxEventLength) this.overflow("SSE event");
        break;
      case "event":
        this.eventType = value;
        break;
      case "id":
        if (!value.includes("\0")) this.lastEventIdBuffer = value;
        break;
      case "retry":
        if (DIGITS_ONLY.test(value)) this.callbacks.onRetry?.(Number.parseInt(value, 10));
        break;
      default:
        break; // unknown fields are ignored
    }
  }

  /** A bound was crossed: what was kept goes at once (the stream is cut next), then the error. */
  private overflow(what: "SSE line" | "SSE event"): never {
    const limit = what === "SSE line" ? this.limits.maxLineLength : this.limits.maxEventLength;
    this.pending = "";
    this.data = "";
    this.hasData = false;
    throw boundCrossed(what, limit, "characters");
  }

  private dispatch(): void {
    // "data:" with an empty value still counts: the spec's buffer is "\n", not empty.
    if (!this.hasData) {
      this.eventType = "";
      return;
    }
    const type = this.eventType === "" ? "message" : this.eventType;
    const data = this.data;
    this.data = "";
    this.hasData = false;
    this.eventType = "";
    this.callbacks.onEvent(type, data, this.lastEventIdBuffer);
  }
}
