import { describe, expect, it } from "vitest";
import { SseParser } from "../src/clients/sse-parser.js";

type Seen =
  | { kind: "event"; type: string; data: string; id: string }
  | { kind: "retry"; ms: number }
  | { kind: "comment"; text: string };

function collect(): { parser: SseParser; seen: Seen[] } {
  const seen: Seen[] = [];
  const parser = new SseParser({
    onEvent: (type, data, id) => seen.push({ kind: "event", type, data, id }),
    onRetry: (ms) => seen.push({ kind: "retry", ms }),
    onComment: (text) => seen.push({ kind: "comment", text }),
  });
  return { parser, seen };
}

function parseChunks(chunks: Array<string | Buffer>): Seen[] {
  const { parser, seen } = collect();
  for (const chunk of chunks) parser.feed(chunk);
  return seen;
}

/**
 * The spec read literally, over the whole stream at once: split into lines,
 * drop the unterminated tail, interpret line by line.
 */
function oracle(stream: string): Seen[] {
  const seen: Seen[] = [];
  const text = stream.startsWith("\uFEFF") ? stream.slice(1) : stream;
  const lines = text.split(/\r\n|\r|\n/);
  lines.pop(); // the last piece has no line terminator yet
  let data = "";
  let type = "";
  let lastId = "";
  for (const line of lines) {
    if (line === "") {
      if (data === "") {
        type = "";
        continue;
      }
      seen.push({ kind: "event", type: type || "message", data: data.slice(0, -1), id: lastId });
      data = "";
      type = "";
      continue;
    }
    if (line.startsWith(":")) {
      seen.push({ kind: "comment", text: line.slice(1) });
      continue;
    }
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") data += `${value}\n`;
    else if (field === "event") type = value;
    else if (field === "id" && !value.includes("\0")) lastId = value;
    else if (field === "retry" && /^[0-9]+$/.test(value)) seen.push({ kind: "retry", ms: +value });
  }
  return seen;
}

const ev = (data: string, id = "", type = "message"): Seen => ({ kind: "event", type, data, id });

describe("SseParser: table of cases", () => {
  const cases: Array<[string, string, Seen[]]> = [
    ["simple event", "data: hello\n\n", [ev("hello")]],
    ["no space after colon", "data:hello\n\n", [ev("hello")]],
    ["only one leading space stripped", "data:  two\n\n", [ev(" two")]],
    ["multi-line data joined with LF", "data: a\ndata: b\ndata:\n\n", [ev("a\nb\n")]],
    ["CRLF line ends", "id: 7\r\nevent: gap\r\ndata: x\r\n\r\n", [ev("x", "7", "gap")]],
    ["CR line ends", "data: a\rdata: b\r\r", [ev("a\nb")]],
    ["mixed line ends", "data: a\r\ndata: b\rdata: c\n\n", [ev("a\nb\nc")]],
    ["empty data dispatches an empty string", "data\n\n", [ev("")]],
    ["no data: no event, type reset", "event: x\n\ndata: y\n\n", [ev("y")]],
    ["id persists across events", "id: 1\ndata: a\n\ndata: b\n\n", [ev("a", "1"), ev("b", "1")]],
    ["id with NUL ignored", "id: 1\n\nid: a\0b\ndata: x\n\n", [ev("x", "1")]],
    ["empty id resets", "id: 1\ndata: a\n\nid\ndata: b\n\n", [ev("a", "1"), ev("b", "")]],
    ["retry digits", "retry: 2500\n", [{ kind: "retry", ms: 2500 }]],
    ["retry not digits ignored", "retry: 25x\nretry: -1\nretry:\n", []],
    ["comment reported", ": heartbeat\n", [{ kind: "comment", text: " heartbeat" }]],
    ["BOM at start stripped", "\uFEFFdata: a\n\n", [ev("a")]],
    ["BOM later is data", "data: \uFEFFa\n\n", [ev("\uFEFFa")]],
    ["unknown fields ignored", "foo: bar\ndata: a\n\n", [ev("a")]],
    ["field name is case-sensitive", "Data: a\ndata: b\n\n", [ev("b")]],
    ["colon inside value kept", 'data: {"a":1}\n\n', [ev('{"a":1}')]],
    ["unterminated event not dispatched", "data: a\n\ndata: b\n", [ev("a")]],
    ["multi-byte UTF-8", "data: é😀漢\n\n", [ev("é😀漢")]],
  ];
  for (const [name, stream, expected] of cases) {
    it(name, () => {
      expect(parseChunks([stream])).toEqual(expected);
      expect(oracle(stream)).toEqual(expected);
    });
  }

  it("exposes the last event id", () => {
    const { parser } = collect();
    parser.feed("id: 42\ndata: a\n\n");
    expect(parser.lastEventId).toBe("42");
    parser.reset();
    expect(parser.lastEventId).toBe("");
  });

  it("does not take CR then LF in the next chunk as two line ends", () => {
    expect(parseChunks(["data: a\r", "\ndata: b\r", "\n\r", "\n"])).toEqual([ev("a\nb")]);
  });

  it("keeps a multi-byte character split across Buffers", () => {
    const bytes = Buffer.from("data: 😀\n\n");
    expect(parseChunks([bytes.subarray(0, 8), bytes.subarray(8)])).toEqual([ev("😀")]);
  });

  it("strips a BOM split across Buffers", () => {
    const bytes = Buffer.from("\uFEFFdata: a\n\n");
    expect(parseChunks([bytes.subarray(0, 1), bytes.subarray(1, 2), bytes.subarray(2)])).toEqual([
      ev("a"),
    ]);
  });
});

describe("SseParser against a whole-string oracle, split everywhere", () => {
  const streams = [
    '\uFEFFretry: 3000\r\n: hi\r\nid: 1\r\nevent: message\r\ndata: {"x":"é"}\r\n\r\n',
    "data: a\rdata:b\r\rid: 9\n: ping\ndata: 😀 漢\n\nevent: gap\ndata\n\nid: x\0y\ndata: z\r\n\r\n",
    ":\n\n\r\n\rdata:  sp\nretry: 1a\nretry: 10\ndata:\ndata\n\nid\ndata: after-reset\n\ntail",
    'id: 1\nevent: message\ndata: {"id":1,"body":{"k":"v"}}\n\nid: 2\nevent: message\ndata: {"id":2}\n\n',
  ];

  it("agrees with the oracle for every split into two Buffers, and into three", () => {
    for (const stream of streams) {
      const expected = oracle(stream);
      expect(expected.length).toBeGreaterThanOrEqual(2);
      const bytes = Buffer.from(stream);
      for (let cut = 0; cut <= bytes.length; cut++) {
        const got = parseChunks([bytes.subarray(0, cut), bytes.subarray(cut)]);
        expect(got, `cut at byte ${cut}`).toEqual(expected);
      }
      for (let a = 0; a <= bytes.length; a += 3) {
        for (let b = a; b <= bytes.length; b += 5) {
          const got = parseChunks([bytes.subarray(0, a), bytes.subarray(a, b), bytes.subarray(b)]);
          expect(got, `cuts at ${a}, ${b}`).toEqual(expected);
        }
      }
    }
  });

  it("agrees with the oracle when fed one byte and one character at a time", () => {
    for (const stream of streams) {
      const expected = oracle(stream);
      const bytes = Buffer.from(stream);
      const byByte: Buffer[] = [];
      for (let i = 0; i < bytes.length; i++) byByte.push(bytes.subarray(i, i + 1));
      expect(parseChunks(byByte)).toEqual(expected);
      expect(parseChunks(Array.from(stream))).toEqual(expected);
    }
  });
});

describe("SseParser bounds", () => {
  const limits = { maxLineLength: 10, maxEventLength: 25 };
  /** Feeds `wire` cut at `cut` to a parser with small bounds; the error's message, or null. */
  function overflowAt(wire: string, cut: number): string | null {
    const parser = new SseParser({ onEvent: () => {} }, limits);
    try {
      parser.feed(Buffer.from(wire.slice(0, cut)));
      parser.feed(Buffer.from(wire.slice(cut)));
      return null;
    } catch (error) {
      return (error as Error).message;
    }
  }

  it("throws past the longest line or event, wherever the reads are cut, and not at the bound", () => {
    const atBound = "data: 1234\n\ndata: 1234\ndata: 1234\n\n"; // lines of 10, an event of 9
    const longLine = "data: 12345\n\n";
    const longUnended = "data: 12345";
    const longEvent = "data: 1234\ndata: 1234\ndata: 1234\ndata: 1234\ndata: 1234\ndata: 1234\n";
    for (let cut = 0; cut <= longEvent.length; cut++) {
      expect(overflowAt(atBound, Math.min(cut, atBound.length))).toBeNull();
      expect(overflowAt(longLine, Math.min(cut, longLine.length))).toBe(
        "SSE line longer than 10 characters (client bound)",
      );
      expect(overflowAt(longUnended, Math.min(cut, longUnended.length))).toBe(
        "SSE line longer than 10 characters (client bound)",
      );
      expect(overflowAt(longEvent, cut)).toBe("SSE event longer than 25 characters (client bound)");
    }
  });
});
