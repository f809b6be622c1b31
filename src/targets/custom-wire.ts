import type {
  EventStreamDialect,
  PollDialect,
  PollRequest,
  WebSocketDialect,
  WebSocketSink,
  WireSink,
} from "../clients/dialect.js";
import { errorAnswerText } from "../clients/http.js";
import type { ClientOptions } from "../clients/types.js";
import { compilePointer, type Pointer, readPointer } from "./json-pointer.js";
import type { TargetWire } from "./types.js";
import {
  cursorText,
  JsonTextTemplate,
  PathTemplate,
  parseJsonOrUndefined,
  webSocketUrl,
} from "./wire.js";

/**
 * The generic clients' dialects for a server described by templates
 * (`protocol: custom`): paths with `{channel}`, `{user}` and `{cursor}`,
 * and JSON Pointers to the body and the cursor in what arrives. Anything
 * without a body where `message.body` points is ignored and counted, never a
 * crash: a server may send its own pings and notices on the same stream.
 */

/** Reads the body and cursor of one message document. */
class MessageReader {
  private readonly body: Pointer;
  private readonly id: Pointer | null;
  /** Why a document was not a message, in the words a user fixes the template with. */
  private readonly noBody: string;
  private readonly notJson = "not JSON";

  constructor(wire: TargetWire) {
    const body = wire.message?.body ?? "";
    this.body = compilePointer(body);
    this.id = wire.message?.id === undefined ? null : compilePointer(wire.message.id);
    this.noBody = `nothing at message.body ${JSON.stringify(body)}`;
  }

  /**
   * Delivers one message document and returns its cursor (`fallbackId`
   * when `message.id` is not set); null when it carried no body. `raw` is
   * what arrived (the text, or the item itself), shown when nothing fits.
   */
  read(document: unknown, fallbackId: string, sink: WireSink, raw: unknown): string | null {
    const body = document === undefined ? undefined : readPointer(document, this.body);
    if (body === undefined) {
      sink.unrecognised(document === undefined ? this.notJson : this.noBody, raw);
      return null;
    }
    const id = this.id === null ? fallbackId : cursorText(readPointer(document, this.id));
    sink.message(id, body);
    return id;
  }
}

function values(options: ClientOptions, cursor: string | undefined): Record<string, string> {
  return { channel: options.channel, user: options.user, cursor: cursor ?? "" };
}

export function customWebSocket(wire: TargetWire): WebSocketDialect {
  const template = wire.websocket;
  if (template === undefined) throw new RangeError("no websocket template");
  const path = new PathTemplate(template.path);
  const resume = template.resume === undefined ? null : new PathTemplate(template.resume);
  const subscribe =
    template.subscribe === undefined ? null : new JsonTextTemplate(template.subscribe);
  const reader = new MessageReader(wire);
  return {
    subprotocols: template.subprotocol === undefined ? undefined : [template.subprotocol],
    url(options: ClientOptions): URL {
      const { baseUrl, since } = options;
      let url = path.fill(baseUrl, values(options, since));
      // The resume part is appended as it is written ("&after={cursor}"): no base prefix again.
      if (resume !== null && since) url += resume.fillBare(values(options, since));
      return webSocketUrl(baseUrl, url);
    },
    subscribeFrame: subscribe
      ? (options) => subscribe.fill(values(options, options.since))
      : undefined,
    frame(data: Buffer, isBinary: boolean, sink: WebSocketSink): void {
      if (isBinary) {
        sink.unrecognised("a binary frame", data);
        return;
      }
      const text = data.toString();
      reader.read(parseJsonOrUndefined(text), "", sink, text);
    },
  };
}

export function customEventStream(wire: TargetWire): EventStreamDialect {
  const template = wire.sse;
  if (template === undefined) throw new RangeError("no sse template");
  const path = new PathTemplate(template.path);
  const reader = new MessageReader(wire);
  // An unnamed event's type is "message" (the EventSource rule), so that is the default.
  const names = typeof template.event === "string" ? [template.event] : (template.event ?? []);
  const carriers = new Set(names.length > 0 ? names : ["message"]);
  const otherName = `an SSE event whose name is not sse.event (${[...carriers].join(", ")})`;
  return {
    path: (options) => path.fill(options.baseUrl, values(options, options.since)),
    event(type, data, lastEventId, sink): void {
      // Events of other names (a server's pings, notices) are not messages: counted, as any stranger.
      if (!carriers.has(type)) {
        sink.unrecognised(otherName, `event: ${type}\ndata: ${data}`);
        return;
      }
      reader.read(parseJsonOrUndefined(data), lastEventId, sink, data);
    },
  };
}

export function customPoll(wire: TargetWire): PollDialect {
  const short = wire.shortPoll === undefined ? null : new PathTemplate(wire.shortPoll.path);
  const long = wire.longPoll === undefined ? null : new PathTemplate(wire.longPoll.path);
  const list = compilePointer(wire.poll?.list ?? "");
  const cursorAt = wire.poll?.cursor === undefined ? null : compilePointer(wire.poll.cursor);
  const reader = new MessageReader(wire);
  return {
    // A short poll answers at once, so it makes a client ready without waiting out a hold.
    first: short !== null ? "short" : "long",
    requests(options) {
      return (kind, cursor): PollRequest => {
        const template = (kind === "short" ? short : long) ?? ((short ?? long) as PathTemplate);
        return { path: template.fill(options.baseUrl, values(options, cursor)) };
      };
    },
    answer({ status, body }, sink) {
      const text = body.toString();
      if (status === 204 || status === 304) return { messages: 0, cursor: undefined };
      if (status < 200 || status > 299) {
        throw new Error(`expected a 2xx status, found ${status} (${errorAnswerText(text)})`);
      }
      const document = parseJsonOrUndefined(text);
      const items = document === undefined ? undefined : readPointer(document, list);
      if (!Array.isArray(items)) {
        throw new Error(
          `expected a list at poll.list ${JSON.stringify(wire.poll?.list ?? "")}, found ${text.length > 80 ? `${text.slice(0, 80)}...` : text}`,
        );
      }
      let messages = 0;
      let lastId = "";
      for (const item of items) {
        const id = reader.read(item, "", sink, item);
        if (id === null) continue;
        messages++;
        lastId = id;
      }
      const next = cursorAt === null ? lastId : cursorText(readPointer(document, cursorAt));
      return { messages, cursor: next === "" ? undefined : next };
    },
  };
}
