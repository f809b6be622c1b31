import { describe, expect, it } from "vitest";
import type { WebSocketSink } from "../src/clients/dialect.js";
import type { HttpAnswer } from "../src/clients/http1-parser.js";
import type { ClientOptions } from "../src/clients/types.js";
import { createClientContext } from "../src/clients/types.js";
import { customEventStream, customPoll, customWebSocket } from "../src/targets/custom-wire.js";
import { compilePointer, isJsonPointer, readPointer } from "../src/targets/json-pointer.js";
import {
  messageIdOf,
  nchanEventStream,
  nchanPoll,
  nchanWebSocket,
  resumeHeaders,
} from "../src/targets/nchan-wire.js";
import { compileTemplate, fillTemplate, placeholdersOf } from "../src/targets/template.js";
import type { TargetWire } from "../src/targets/types.js";

/** Everything a dialect told its client, in order. */
function recordingSink() {
  const events: string[] = [];
  const sink: WebSocketSink = {
    message: (id, body) => events.push(`message ${id} ${JSON.stringify(body)}`),
    gap: (from, to) => events.push(`gap ${from}-${to}`),
    unrecognised: () => events.push("unrecognised"),
    reply: (text) => events.push(`reply ${text}`),
    malformed: (reason) => events.push(`malformed ${reason}`),
  };
  return { sink, events };
}

function options(since?: string): ClientOptions {
  return {
    baseUrl: "http://127.0.0.1:9000/app",
    channel: "room 1",
    user: "u/1",
    since,
    settings: {},
    requestTimeoutMs: 1000,
    handlers: {
      onReady() {},
      onMessage() {},
      onGap() {},
      onBreak() {},
      onUnrecognised() {},
    },
    context: createClientContext(),
  };
}

describe("templates", () => {
  it("fills {name} placeholders and leaves JSON's own braces alone", () => {
    const text = '{"data":{body},"to":"{channel}"}';
    expect(placeholdersOf(text)).toEqual(["body", "channel"]);
    expect(fillTemplate(compileTemplate(text), { body: "[1]", channel: "c" })).toBe(
      '{"data":[1],"to":"c"}',
    );
    expect(() => fillTemplate(compileTemplate("{x}"), {})).toThrow(
      /no value for placeholder \{x\}/,
    );
  });
});

describe("JSON Pointers (RFC 6901)", () => {
  const doc = { data: { "a/b": [10, { "m~n": "deep" }] }, "": "empty key" };

  it("reads the examples' kinds of pointer, escapes included", () => {
    expect(readPointer(doc, compilePointer(""))).toBe(doc);
    expect(readPointer(doc, compilePointer("/data/a~1b/0"))).toBe(10);
    expect(readPointer(doc, compilePointer("/data/a~1b/1/m~0n"))).toBe("deep");
    expect(readPointer(doc, compilePointer("/"))).toBe("empty key");
  });

  it("answers undefined for what is not there, never throws on a stranger's document", () => {
    for (const pointer of ["/nope", "/data/a~1b/2", "/data/a~1b/01", "/data/a~1b/-", "/data/x/y"]) {
      expect(readPointer(doc, compilePointer(pointer)), pointer).toBeUndefined();
    }
    expect(readPointer("text", compilePointer("/a"))).toBeUndefined();
    expect(readPointer(null, compilePointer("/a"))).toBeUndefined();
  });

  it("tells pointers from other text", () => {
    expect(["", "/", "/a/0", "/a~0~1"].every(isJsonPointer)).toBe(true);
    expect(["data", "a/b", "/a~2", "#/a"].some(isJsonPointer)).toBe(false);
  });
});

const CUSTOM: TargetWire = {
  websocket: { path: "/live?topic={channel}", resume: "&after={cursor}" },
  sse: { path: "/events/{channel}" },
  longPoll: { path: "/poll/{channel}?after={cursor}&wait=25" },
  shortPoll: { path: "/poll/{channel}?after={cursor}&wait=0" },
  message: { body: "/data", id: "/seq" },
  poll: { list: "/items", cursor: "/next" },
};

describe("custom dialects", () => {
  it("build URLs under the base path with values URL-encoded, resume only after a cursor", () => {
    const ws = customWebSocket(CUSTOM);
    expect(ws.url(options()).href).toBe("ws://127.0.0.1:9000/app/live?topic=room%201");
    expect(ws.url(options("7 8")).href).toBe(
      "ws://127.0.0.1:9000/app/live?topic=room%201&after=7%208",
    );
    expect(customEventStream(CUSTOM).path(options())).toBe("/app/events/room%201");
    const requests = customPoll(CUSTOM).requests(options());
    expect(requests("short", undefined, undefined).path).toBe("/app/poll/room%201?after=&wait=0");
    expect(requests("long", "42", "30").path).toBe("/app/poll/room%201?after=42&wait=25");
  });

  it("deliver bodies at the pointer and count what has none, without breaking", () => {
    const { sink, events } = recordingSink();
    const ws = customWebSocket(CUSTOM);
    for (const frame of [
      '{"seq":1,"data":{"k":"a"}}',
      '{"type":"hello"}',
      "not json",
      '{"seq":2,"data":0}',
    ]) {
      ws.frame(Buffer.from(frame), false, sink);
    }
    ws.frame(Buffer.from([1, 2]), true, sink);
    expect(events).toEqual([
      'message 1 {"k":"a"}',
      "unrecognised",
      "unrecognised",
      "message 2 0",
      "unrecognised",
    ]);
  });

  it("read SSE events by pointer, the cursor from message.id or else the id: line", () => {
    const { sink, events } = recordingSink();
    customEventStream(CUSTOM).event("message", '{"seq":5,"data":"x"}', "ignored", sink);
    customEventStream({ ...CUSTOM, message: { body: "/data" } }).event(
      "message",
      '{"data":"y"}',
      "9",
      sink,
    );
    // Another event name is not a message: counted as unrecognised, as any stranger.
    customEventStream(CUSTOM).event("ping", "{}", "", sink);
    customEventStream({ ...CUSTOM, sse: { path: "/e", event: ["update", "ping"] } }).event(
      "ping",
      '{"seq":6,"data":"z"}',
      "",
      sink,
    );
    expect(events).toEqual(['message 5 "x"', 'message 9 "y"', "unrecognised", 'message 6 "z"']);
  });

  it("read poll answers: items by pointer, the next cursor, strangers counted, errors thrown before delivery", () => {
    const { sink, events } = recordingSink();
    const poll = customPoll(CUSTOM);
    const answer = poll.answer(
      httpAnswer(
        200,
        {},
        '{"items":[{"seq":3,"data":"a"},{"note":"x"},{"seq":4,"data":"b"}],"next":4}',
      ),
      sink,
    );
    expect(answer).toEqual({ messages: 2, cursor: "4" });
    expect(events).toEqual(['message 3 "a"', "unrecognised", 'message 4 "b"']);
    expect(poll.answer(httpAnswer(304, {}, ""), sink)).toEqual({ messages: 0, cursor: undefined });
    expect(() => poll.answer(httpAnswer(500, {}, '{"error":"boom"}'), sink)).toThrow(
      "expected a 2xx status, found 500 (boom)",
    );
    expect(() => poll.answer(httpAnswer(200, {}, '{"rows":[]}'), sink)).toThrow(
      /expected a list at poll.list "\/items"/,
    );
    expect(events).toHaveLength(3);
  });
});

describe("Nchan's wire", () => {
  const wire: TargetWire = {
    websocket: { path: "/sub?id={channel}" },
    sse: { path: "/sub?id={channel}" },
    longPoll: { path: "/sub?id={channel}" },
    message: { body: "" },
  };

  it("turns long-poll Last-Modified/Etag into a message id and back into the resume headers", () => {
    const id = messageIdOf("Sat, 28 Nov 2026 13:39:08 GMT", "3");
    expect(id).toBe("1795873148:3");
    expect(resumeHeaders(id)).toEqual({
      "if-modified-since": "Sat, 28 Nov 2026 13:39:08 GMT",
      "if-none-match": "3",
    });
    expect(resumeHeaders(undefined)).toBeUndefined();
    expect(messageIdOf(undefined, "3")).toBe("");
  });

  it("reads ws+meta.nchan frames, resumes WebSockets with last_event_id", () => {
    const ws = nchanWebSocket(wire);
    expect(ws.subprotocols).toEqual(["ws+meta.nchan"]);
    expect(ws.url(options("1795873148:3")).href).toBe(
      "ws://127.0.0.1:9000/app/sub?id=room%201&last_event_id=1795873148%3A3",
    );
    const { sink, events } = recordingSink();
    ws.frame(
      Buffer.from('id: 1795873148:4\ncontent-type: application/json\n\n{"seq":9}'),
      false,
      sink,
    );
    ws.frame(Buffer.from("id: 1795873148:5\n\nplain text"), false, sink);
    ws.frame(Buffer.from("hello"), false, sink);
    expect(events).toEqual(['message 1795873148:4 {"seq":9}', "unrecognised", "unrecognised"]);
  });

  it("reads EventSource messages by their id: line and ignores its pings", () => {
    const { sink, events } = recordingSink();
    const sse = nchanEventStream(wire);
    sse.event("message", '{"seq":1}', "1795873148:0", sink);
    sse.event("ping", "", "1795873148:0", sink);
    expect(events).toEqual(['message 1795873148:0 {"seq":1}']);
  });

  it("holds the first long poll and takes 304 and 408 as empty answers", () => {
    const poll = nchanPoll(wire);
    expect(poll.first).toBe("long");
    const { sink, events } = recordingSink();
    const answer = poll.answer(
      httpAnswer(200, { "last-modified": "Sat, 28 Nov 2026 13:39:08 GMT", etag: "0" }, '{"seq":1}'),
      sink,
    );
    expect(answer).toEqual({ messages: 1, cursor: "1795873148:0" });
    expect(poll.answer(httpAnswer(408, {}, ""), sink)).toEqual({ messages: 0, cursor: undefined });
    expect(() => poll.answer(httpAnswer(403, {}, "Forbidden"), sink)).toThrow(/found 403/);
    expect(events).toEqual(['message 1795873148:0 {"seq":1}']);
  });
});

/** A poll answer as the lean HTTP client hands it over: header block as text, body as bytes. */
function httpAnswer(status: number, headers: Record<string, string>, text: string): HttpAnswer {
  const head = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}`)
    .join("\r\n");
  return { status, head, body: Buffer.from(text), closes: false };
}
