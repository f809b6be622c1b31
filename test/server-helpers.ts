/**
 * Small real clients for the reference server tests: an SSE reader over
 * node:http, a WebSocket collector over `ws`, and a wait helper. No mocks:
 * everything goes over sockets on 127.0.0.1.
 */
import { EventEmitter } from "node:events";
import { type ClientRequest, type IncomingMessage, request } from "node:http";
import { type ClientHttp2Session, connect as connectH2 } from "node:http2";
import WebSocket, { type ClientOptions } from "ws";
import type { Message, PollResponse } from "../src/shared/protocol.js";

const WAIT_MS = 5000;

/** Resolves once `predicate()` holds, re-checking whenever `emitter` emits "change". */
export function until(
  emitter: EventEmitter,
  predicate: () => boolean,
  what: string,
  timeoutMs = WAIT_MS,
): Promise<void> {
  if (predicate()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const check = () => {
      if (!predicate()) return;
      clearTimeout(timer);
      emitter.off("change", check);
      resolve();
    };
    const timer = setTimeout(() => {
      emitter.off("change", check);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
    }, timeoutMs);
    emitter.on("change", check);
  });
}

export async function publish(baseUrl: string, channel: string, body: unknown): Promise<Message> {
  const res = await fetch(`${baseUrl}/api/messages`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ channel, body }),
  });
  if (res.status !== 201) throw new Error(`publish answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as Message;
}

export async function getJson(
  url: string,
): Promise<{ status: number; headers: Headers; json: unknown }> {
  const res = await fetch(url);
  return { status: res.status, headers: res.headers, json: await res.json() };
}

export async function poll(
  url: string,
): Promise<{ status: number; headers: Headers; body: PollResponse }> {
  const { status, headers, json } = await getJson(url);
  return { status, headers, body: json as PollResponse };
}

export interface SseEvent {
  event: string;
  id: string | null;
  data: string;
}

/** A hand-parsed event stream (the reference server writes LF only, one `data:` line). */
export class SseReader extends EventEmitter {
  readonly events: SseEvent[] = [];
  readonly comments: string[] = [];
  retryMs: number | null = null;
  ended = false;
  response: IncomingMessage | null = null;
  private buffered = "";
  private req: ClientRequest | null = null;
  private h2: ClientHttp2Session | null = null;

  static async open(url: string, headers: Record<string, string> = {}): Promise<SseReader> {
    const reader = new SseReader();
    await new Promise<void>((resolve, reject) => {
      reader.req = request(url, { headers: { accept: "text/event-stream", ...headers } }, (res) => {
        reader.response = res;
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => reader.feed(chunk));
        res.on("end", () => reader.finish());
        res.on("error", () => reader.finish());
        resolve();
      });
      reader.req.on("error", reject);
      reader.req.end();
    });
    return reader;
  }

  /** The same stream over cleartext HTTP/2 (prior knowledge), on a session of its own. */
  static async openH2(url: string): Promise<SseReader> {
    const { origin, pathname, search } = new URL(url);
    const reader = new SseReader();
    const session = connectH2(origin);
    reader.h2 = session;
    session.on("error", () => reader.finish());
    await new Promise<void>((resolve, reject) => {
      const stream = session.request({ ":path": pathname + search, accept: "text/event-stream" });
      stream.setEncoding("utf8");
      stream.once("response", () => resolve());
      stream.on("data", (chunk: string) => reader.feed(chunk));
      stream.on("end", () => reader.finish());
      stream.on("error", (error) => {
        reader.finish();
        reject(error);
      });
    });
    return reader;
  }

  /** Message events' ids, in arrival order. */
  get messageIds(): number[] {
    return this.events.filter((e) => e.event === "message").map((e) => Number(e.id));
  }

  waitForMessages(count: number): Promise<void> {
    return until(this, () => this.messageIds.length >= count, `${count} SSE messages`);
  }

  waitForEnd(): Promise<void> {
    return until(this, () => this.ended, "the SSE stream to end");
  }

  close(): void {
    this.req?.destroy();
    this.h2?.destroy();
  }

  private feed(chunk: string): void {
    this.buffered += chunk;
    let end = this.buffered.indexOf("\n\n");
    while (end !== -1) {
      this.parseBlock(this.buffered.slice(0, end));
      this.buffered = this.buffered.slice(end + 2);
      end = this.buffered.indexOf("\n\n");
    }
    this.emit("change");
  }

  private parseBlock(block: string): void {
    const event: SseEvent = { event: "message", id: null, data: "" };
    let hasData = false;
    for (const line of block.split("\n")) {
      if (line.startsWith(":")) this.comments.push(line.slice(1).trim());
      else if (line.startsWith("retry: ")) this.retryMs = Number(line.slice(7));
      else if (line.startsWith("id: ")) event.id = line.slice(4);
      else if (line.startsWith("event: ")) event.event = line.slice(7);
      else if (line.startsWith("data: ")) {
        event.data = line.slice(6);
        hasData = true;
      }
    }
    if (hasData) this.events.push(event);
  }

  private finish(): void {
    this.ended = true;
    this.emit("change");
  }
}

export type Frame = { type: string } & Record<string, unknown>;

/** A `ws` client that keeps every JSON frame it gets. */
export class WsCollector extends EventEmitter {
  readonly frames: Frame[] = [];
  closeCode: number | null = null;

  private constructor(readonly ws: WebSocket) {
    super();
    ws.on("message", (data) => {
      this.frames.push(JSON.parse(data.toString()) as Frame);
      this.emit("change");
    });
    ws.on("close", (code) => {
      this.closeCode = code;
      this.emit("change");
    });
    ws.on("error", () => {});
  }

  static async open(url: string, options?: ClientOptions): Promise<WsCollector> {
    const ws = new WebSocket(url, options);
    const collector = new WsCollector(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
      ws.once("unexpected-response", (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    });
    return collector;
  }

  get messageIds(): number[] {
    return this.frames.filter((f) => f.type === "message").map((f) => f.id as number);
  }

  waitForMessages(count: number, timeoutMs?: number): Promise<void> {
    return until(
      this,
      () => this.messageIds.length >= count,
      `${count} WebSocket messages`,
      timeoutMs,
    );
  }

  waitFor(predicate: (frame: Frame) => boolean, what: string, timeoutMs?: number): Promise<Frame> {
    return until(this, () => this.frames.some(predicate), what, timeoutMs).then(
      () => this.frames.find(predicate) as Frame,
    );
  }

  waitForClose(timeoutMs?: number): Promise<number> {
    return until(this, () => this.closeCode !== null, "the WebSocket to close", timeoutMs).then(
      () => this.closeCode as number,
    );
  }

  send(frame: unknown): void {
    this.ws.send(JSON.stringify(frame));
  }

  close(): void {
    this.ws.terminate();
  }
}

/** The value of one series in Prometheus text, or NaN. */
export function metricValue(text: string, series: string): number {
  for (const line of text.split("\n")) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return Number.NaN;
}

export function wsUrl(baseUrl: string, path: string): string {
  return `${baseUrl.replace(/^http/, "ws")}${path}`;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
