/**
 * An incremental HTTP/1.1 response reader for the lean clients: status line,
 * header block, then a body framed by `content-length`, `chunked` or the end
 * of the connection. The common case (a whole answer in one read) costs one
 * `indexOf`, one short latin1 string for the head and a zero-copy slice for
 * the body; only answers split over reads are copied together.
 *
 * A body it collects is bounded (`maxBodyBytes`, bounds.ts): a longer
 * `content-length`, or a chunked or close-delimited body that grows past
 * it, throws (`boundCrossed`) and the owner drops the connection. Streamed
 * bodies (SSE) are bounded by whoever reads them.
 */
import { boundCrossed, MAX_ANSWER_BYTES } from "./bounds.js";

/** What a complete answer looks like to the caller. */
export interface HttpAnswer {
  status: number;
  /** The header block (without the status line), as latin1 text: read it with `headerValue`. */
  head: string;
  body: Buffer;
  /** The server will close the connection after this answer (`connection: close`, or HTTP/1.0). */
  closes: boolean;
}

export interface HttpResponseHandler {
  /** A complete answer arrived. */
  onAnswer(answer: HttpAnswer): void;
  /** A streaming answer's head arrived (see `streamBody`); body bytes follow in `onBodyChunk`. */
  onStreamHead?(status: number, head: string): void;
  onBodyChunk?(chunk: Buffer): void;
}

const HEAD_END = Buffer.from("\r\n\r\n");
const EMPTY = Buffer.alloc(0);
/** A header block larger than this is not an answer this client can use. */
const MAX_HEAD_BYTES = 64 * 1024;

enum State {
  Head = 0,
  Length = 1,
  ChunkSize = 2,
  ChunkData = 3,
  ChunkDataEnd = 4,
  Trailers = 5,
  UntilClose = 6,
}

/** The value of header `name` (lower case) in a header block, or undefined. */
export function headerValue(head: string, name: string): string | undefined {
  let lineStart = 0;
  const n = name.length;
  while (lineStart < head.length) {
    let lineEnd = head.indexOf("\r\n", lineStart);
    if (lineEnd < 0) lineEnd = head.length;
    if (head.charCodeAt(lineStart + n) === 0x3a && sameLowerCase(head, lineStart, name)) {
      return head.slice(lineStart + n + 1, lineEnd).trim();
    }
    lineStart = lineEnd + 2;
  }
  return undefined;
}

function sameLowerCase(text: string, at: number, lower: string): boolean {
  for (let i = 0; i < lower.length; i++) {
    // ASCII letters: setting bit 0x20 lower-cases them; the name itself is lower case.
    if ((text.charCodeAt(at + i) | 0x20) !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/**
 * Reads consecutive answers on one connection. `expectAnswer()` before each
 * request arms it (bytes with no request outstanding are a protocol error);
 * `streamBody` makes the next answer's body flow to `onBodyChunk` as it
 * arrives instead of being collected (SSE).
 */
export class Http1ResponseReader {
  private state = State.Head;
  private pending: Buffer = EMPTY;
  private status = 0;
  private head = "";
  private closes = false;
  private remaining = 0;
  private parts: Buffer[] = [];
  /** Bytes in `parts`: the collected body so far. */
  private collected = 0;
  private streaming = false;
  /** Stream the body of the next answer (see HttpResponseHandler.onBodyChunk). */
  streamBody = false;

  constructor(
    private readonly handler: HttpResponseHandler,
    /** The largest body collected for `onAnswer`; beyond it the reader throws. */
    private readonly maxBodyBytes = MAX_ANSWER_BYTES,
  ) {}

  /** True while an answer has started but not finished (a close now would cut it). */
  get midAnswer(): boolean {
    return this.state !== State.Head || this.pending.length > 0;
  }

  feed(chunk: Buffer): void {
    let data = chunk;
    let at = 0;
    while (at < data.length) {
      switch (this.state) {
        case State.Head: {
          if (this.pending.length > 0) {
            data = Buffer.concat([this.pending, data.subarray(at)]);
            at = 0;
            this.pending = EMPTY;
          }
          const end = data.indexOf(HEAD_END, at);
          if (end < 0) {
            if (data.length - at > MAX_HEAD_BYTES) throw new Error("HTTP header block too large");
            this.pending = Buffer.from(data.subarray(at));
            return;
          }
          this.readHead(data, at, end);
          at = end + 4;
          if (this.state === State.Head) this.finish(EMPTY);
          break;
        }
        case State.Length: {
          const take = Math.min(this.remaining, data.length - at);
          const piece = data.subarray(at, at + take);
          at += take;
          this.remaining -= take;
          if (this.streaming) {
            this.handler.onBodyChunk?.(piece);
            if (this.remaining === 0) this.finishStream();
          } else if (this.remaining === 0 && this.parts.length === 0) {
            this.finish(piece);
          } else {
            this.collect(piece);
            if (this.remaining === 0) this.finish(Buffer.concat(this.parts));
          }
          break;
        }
        case State.ChunkSize:
        case State.ChunkDataEnd:
        case State.Trailers:
          at = this.readChunkLine(data, at);
          if (at < 0) return;
          break;
        case State.ChunkData: {
          const take = Math.min(this.remaining, data.length - at);
          const piece = data.subarray(at, at + take);
          at += take;
          this.remaining -= take;
          if (this.streaming) this.handler.onBodyChunk?.(piece);
          else this.collect(piece);
          if (this.remaining === 0) this.state = State.ChunkDataEnd;
          break;
        }
        case State.UntilClose: {
          const piece = data.subarray(at);
          at = data.length;
          if (this.streaming) this.handler.onBodyChunk?.(piece);
          else this.collect(piece);
          break;
        }
      }
    }
  }

  /**
   * The connection ended. A body delimited by the close is complete now;
   * returns false when an answer was cut short.
   */
  end(): boolean {
    if (this.state === State.UntilClose) {
      if (this.streaming) this.finishStream();
      else this.finish(Buffer.concat(this.parts));
      return true;
    }
    return !this.midAnswer;
  }

  private readHead(data: Buffer, from: number, end: number): void {
    // "HTTP/1.1 200 OK": the status is always at offset 9.
    if (data[from] !== 0x48 || data[from + 4] !== 0x2f || end - from < 12) {
      throw new Error(
        `not an HTTP/1.x answer: ${JSON.stringify(data.toString("latin1", from, from + 40))}`,
      );
    }
    this.status =
      ((data[from + 9] as number) - 48) * 100 +
      ((data[from + 10] as number) - 48) * 10 +
      ((data[from + 11] as number) - 48);
    if (!(this.status >= 100 && this.status <= 999)) throw new Error("bad HTTP status line");
    const lineEnd = data.indexOf(0x0d, from);
    this.head = lineEnd + 2 <= end ? data.toString("latin1", lineEnd + 2, end) : "";
    const http10 = data[from + 7] === 0x30;
    const connection = headerValue(this.head, "connection")?.toLowerCase();
    this.closes = connection === "close" || (http10 && connection !== "keep-alive");
    this.streaming = this.streamBody;
    this.streamBody = false;
    this.parts = [];
    this.collected = 0;
    if (this.streaming) this.handler.onStreamHead?.(this.status, this.head);
    if (this.status < 200 || this.status === 204 || this.status === 304) {
      // 1xx are interim: the real answer follows; 204 and 304 have no body.
      if (this.status < 200) this.streaming = false;
      this.state = State.Head;
      return;
    }
    const encoding = headerValue(this.head, "transfer-encoding");
    if (encoding?.toLowerCase().endsWith("chunked")) {
      this.state = State.ChunkSize;
      return;
    }
    const length = headerValue(this.head, "content-length");
    if (length !== undefined) {
      this.remaining = Number(length);
      if (!Number.isSafeInteger(this.remaining) || this.remaining < 0) {
        throw new Error(`bad content-length ${JSON.stringify(length)}`);
      }
      // Refused before a byte of it is kept.
      if (!this.streaming && this.remaining > this.maxBodyBytes) this.overflow();
      this.state = this.remaining === 0 ? State.Head : State.Length;
      return;
    }
    this.closes = true;
    this.state = State.UntilClose;
  }

  /** One CRLF-terminated line of chunked framing; returns the offset after it, or -1 for more data. */
  private readChunkLine(chunk: Buffer, from: number): number {
    let data = chunk;
    let at = from;
    if (this.pending.length > 0) {
      data = Buffer.concat([this.pending, data.subarray(at)]);
      at = 0;
      this.pending = EMPTY;
    }
    const eol = data.indexOf("\r\n", at, "latin1");
    if (eol < 0) {
      if (data.length - at > MAX_HEAD_BYTES) throw new Error("chunked framing line too long");
      this.pending = Buffer.from(data.subarray(at));
      return -1;
    }
    const line = data.toString("latin1", at, eol);
    const next = eol + 2;
    if (this.state === State.ChunkDataEnd) {
      if (line !== "") throw new Error("chunk data longer than its size");
      this.state = State.ChunkSize;
    } else if (this.state === State.ChunkSize) {
      const size = Number.parseInt(line, 16);
      if (!Number.isSafeInteger(size) || size < 0) {
        throw new Error(`bad chunk size ${JSON.stringify(line)}`);
      }
      this.remaining = size;
      this.state = size === 0 ? State.Trailers : State.ChunkData;
    } else if (line === "") {
      if (this.streaming) this.finishStream();
      else
        this.finish(
          this.parts.length === 1 ? (this.parts[0] as Buffer) : Buffer.concat(this.parts),
        );
    }
    // A split line was joined into a new buffer: go on in it.
    if (data !== chunk) {
      const rest = data.subarray(next);
      if (rest.length > 0) this.feed(rest);
      return chunk.length;
    }
    return next;
  }

  /** Keeps a piece of a collected body, within the bound (copied: a piece must not pin its whole read). */
  private collect(piece: Buffer): void {
    this.collected += piece.length;
    if (this.collected > this.maxBodyBytes) this.overflow();
    this.parts.push(Buffer.from(piece));
  }

  private overflow(): never {
    this.parts = [];
    this.collected = 0;
    throw boundCrossed("HTTP answer body", this.maxBodyBytes, "bytes");
  }

  private finish(body: Buffer): void {
    this.state = State.Head;
    this.parts = [];
    this.collected = 0;
    this.handler.onAnswer({ status: this.status, head: this.head, body, closes: this.closes });
  }

  /** A streamed answer ended: its body went to `onBodyChunk`, so the answer's is empty. */
  private finishStream(): void {
    this.streaming = false;
    this.finish(EMPTY);
  }
}
