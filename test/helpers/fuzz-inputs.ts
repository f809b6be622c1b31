/**
 * Seeded generators of hostile input for the reference server: raw HTTP
 * bytes, publish bodies and WebSocket frames. Pure: the same seed gives the
 * same inputs, so a failure found by the fuzz suite reproduces from the seed
 * it prints. JSON values come from fast-check's arbitraries (sampled with the
 * seed); the rest is built from a small PRNG.
 */
import fc from "fast-check";
import { seededRandom } from "../../src/util/random.js";

export type Random = () => number;

/** The channel the healthy subscribers watch; valid fuzz publishes land here too. */
export const HEALTHY_CHANNEL = "fuzz-healthy";

export interface HttpInput {
  kind: string;
  bytes: Buffer;
}

export interface PublishInput {
  kind: string;
  body: Buffer;
}

export type WsFrame = { text: string } | { binary: Buffer };

export interface WsInput {
  kind: string;
  /** Path and query of the upgrade request. */
  path: string;
  frames: WsFrame[];
  /** Raw bytes written after a hand-made handshake instead of frames through `ws`. */
  raw?: Buffer;
}

export function createFuzzer(seed: number, maxBodyBytes: number) {
  const random = seededRandom(seed);
  const int = (min: number, max: number) => min + Math.floor(random() * (max - min + 1));
  const pick = <T>(items: readonly T[]): T => items[int(0, items.length - 1)] as T;
  const bytes = (length: number) => Buffer.from(Array.from({ length }, () => int(0, 255)));
  // fast-check draws its own values from the seed; `next` walks through them.
  const values = fc.sample(fc.jsonValue({ maxDepth: 6 }), { seed, numRuns: 4096 });
  const strings = fc.sample(fc.string({ unit: "binary", maxLength: 40 }), { seed, numRuns: 4096 });
  let cursor = 0;
  const nextValue = () => values[cursor++ % values.length];
  const nextString = () => strings[cursor++ % strings.length] as string;

  const channelLike = () =>
    pick([
      HEALTHY_CHANNEL,
      "fuzz-other",
      "",
      "a b",
      "a/b",
      "x".repeat(int(101, 300)),
      "%00",
      "café",
      nextString(),
      "../../etc",
    ]);
  const cursorLike = () =>
    pick([
      "0",
      "1",
      "-1",
      "1e20",
      "abc",
      "",
      "0x10",
      " 5",
      "5.5",
      "99999999999999999",
      nextString(),
    ]);

  const nested = (depth: number) => {
    let open = "";
    let close = "";
    for (let i = 0; i < depth; i++) {
      if (random() < 0.5) {
        open += "[";
        close = `]${close}`;
      } else {
        open += '{"k":';
        close = `}${close}`;
      }
    }
    return `${open}1${close}`;
  };

  const publishText = (channel: string, body: unknown) => JSON.stringify({ channel, body });

  /** Request lines, headers, framing and queries that a server must refuse cleanly. */
  function http(): HttpInput {
    const route = pick([
      "/api/messages",
      "/api/messages/poll",
      `/api/stream/${HEALTHY_CHANNEL}`,
      "/api/presence/x",
      "/ws/chat/x",
      "/healthz",
      "/metrics",
      "/admin/drop",
      "/nope",
    ]);
    const kind = pick(["garbage", "request-line", "headers", "body-framing", "query"]);
    let text: string;
    switch (kind) {
      case "garbage":
        return { kind, bytes: bytes(int(1, 2000)) };
      case "request-line": {
        const method = pick([
          "GET",
          "POST",
          "PUT",
          "DELETE",
          "PATCH",
          "OPTIONS",
          "HEAD",
          "CONNECT",
          "G E T",
          "",
          "BREW",
          "get",
        ]);
        const target = pick([
          route,
          "*",
          "http://x/healthz",
          "//..//",
          "/%%%",
          `/${"a".repeat(int(1, 12_000))}`,
          `/api/stream/${nextString()}`,
        ]);
        const version = pick(["HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "HTTP/1.1x", "", "HTTP/9"]);
        text = `${method} ${target} ${version}\r\nhost: x\r\n\r\n`;
        break;
      }
      case "headers": {
        const header = pick([
          "no-colon-here",
          "bad name: x",
          `x-big: ${"a".repeat(int(1, 20_000))}`,
          "content-length: 5\r\ncontent-length: 7",
          "transfer-encoding: chunked\r\ncontent-length: 4",
          "transfer-encoding: gzip",
          "expect: 100-continue",
          "expect: teapot",
          "connection: upgrade\r\nupgrade: h2c",
          "upgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-version: 99",
          "last-event-id: -3",
          `last-event-id: ${nextString()}`,
          `x-ctl: a\x01b\x7f`,
        ]);
        text = `${pick(["GET", "POST"])} ${route} HTTP/1.1\r\nhost: x\r\n${header}\r\n\r\n`;
        break;
      }
      case "body-framing": {
        const body = publishText(HEALTHY_CHANNEL, "framed");
        text = pick([
          `POST /api/messages HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n${body}\r\n0\r\n\r\n`,
          `POST /api/messages HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\nffff\r\n${body}`,
          `POST /api/messages HTTP/1.1\r\nhost: x\r\ncontent-length: -1\r\n\r\n${body}`,
          `POST /api/messages HTTP/1.1\r\nhost: x\r\ncontent-length: ${body.length + 50}\r\n\r\n${body}`,
          `POST /api/messages HTTP/1.1\r\nhost: x\r\ncontent-length: 3\r\n\r\n${body}`,
          `POST /api/messages HTTP/1.1\r\nhost: x\r\ncontent-length: 99999999999999999999\r\n\r\n`,
          `POST /api/messages HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n5;${"e".repeat(20_000)}\r\nhello\r\n0\r\n\r\n`,
        ]);
        break;
      }
      default: {
        // Valid framing, fuzzed parameters. Long polls only ever hold up to 0.3 s.
        const query = `channel=${encodeURIComponent(channelLike())}&since=${encodeURIComponent(cursorLike())}&timeout=${pick(["0", "0.2", "-1", "999", "abc", "0.3"])}&user=${encodeURIComponent(pick(["ann", "", "a b", nextString()]))}`;
        text = `GET ${pick(["/api/messages", "/api/messages/poll", `/api/stream/${encodeURIComponent(channelLike())}`, `/api/presence/${encodeURIComponent(channelLike())}`])}?${query} HTTP/1.1\r\nhost: x\r\n\r\n`;
      }
    }
    return { kind, bytes: Buffer.from(text, "latin1") };
  }

  /** Publish request bodies: valid ones (to the healthy channel) and every way to be wrong. */
  function publish(): PublishInput {
    const kind = pick([
      "valid",
      "valid-weird",
      "deep",
      "not-object",
      "bad-fields",
      "broken-text",
      "invalid-utf8",
      "oversize",
    ]);
    let text: string;
    switch (kind) {
      case "valid":
        text = publishText(HEALTHY_CHANNEL, nextValue());
        break;
      case "valid-weird":
        text = pick([
          `{"channel":"${HEALTHY_CHANNEL}","body":"\\ud800 lone \\udfff"}`,
          `{"channel":"${HEALTHY_CHANNEL}","body":1e400}`,
          `{"channel":"${HEALTHY_CHANNEL}","body":-0}`,
          `{"channel":"${HEALTHY_CHANNEL}","body":"line\\nbreak\\r\\n\\u2028\\u0000"}`,
          `{"channel":"${HEALTHY_CHANNEL}","body":${nested(63)}}`,
          `{"channel":"${HEALTHY_CHANNEL}","body":"${"x".repeat(maxBodyBytes - 100)}"}`,
          `{"channel":"${HEALTHY_CHANNEL}","channel":"${HEALTHY_CHANNEL}","body":{"__proto__":{"polluted":1}}}`,
          `  \n\t{"body":"id: 9\\n\\ndata: x","channel":"${HEALTHY_CHANNEL}","extra":[1,2]}  `,
        ]);
        break;
      case "deep":
        text = `{"channel":"${HEALTHY_CHANNEL}","body":${nested(int(65, Math.floor(maxBodyBytes / 6)))}}`;
        break;
      case "not-object":
        text = JSON.stringify(nextValue()) ?? "null";
        if (text.startsWith("{")) text = `[${text}]`;
        break;
      case "bad-fields":
        text = pick([
          JSON.stringify({ body: nextValue() }),
          JSON.stringify({ channel: int(0, 9), body: 1 }),
          JSON.stringify({ channel: channelLike(), body: 1 }),
          JSON.stringify({ channel: HEALTHY_CHANNEL }),
          JSON.stringify({ channel: [HEALTHY_CHANNEL], body: 1 }),
          "{}",
          "",
        ]);
        break;
      case "broken-text": {
        const valid = Buffer.from(publishText(HEALTHY_CHANNEL, nextValue()));
        const at = int(0, valid.length - 1);
        const mutated = pick([
          () => valid.subarray(0, at),
          () => Buffer.concat([valid.subarray(0, at), bytes(int(1, 4)), valid.subarray(at)]),
          () => Buffer.from(valid).fill(int(0, 255), at, at + 1),
        ])();
        return { kind, body: mutated };
      }
      case "invalid-utf8":
        return {
          kind,
          body: Buffer.concat([
            Buffer.from(`{"channel":"${HEALTHY_CHANNEL}","body":"`),
            bytes(int(1, 64)),
            Buffer.from('"}'),
          ]),
        };
      default:
        text = publishText(HEALTHY_CHANNEL, "y".repeat(maxBodyBytes + int(1, 1000)));
    }
    return { kind, body: Buffer.from(text) };
  }

  /** WebSocket sessions: well-formed and malformed frames, and bytes that are not frames at all. */
  function websocket(): WsInput {
    const kind = pick([
      "publish-valid",
      "publish-bad",
      "text-garbage",
      "binary",
      "oversize",
      "app-frames",
      "raw-frames",
      "bad-upgrade",
    ]);
    const path = `/ws/chat/${HEALTHY_CHANNEL}`;
    const ref = int(0, 1_000_000);
    switch (kind) {
      case "publish-valid":
        return {
          kind,
          path,
          frames: [{ text: JSON.stringify({ type: "publish", ref, body: nextValue() }) }],
        };
      case "publish-bad":
        return {
          kind,
          path,
          frames: [
            {
              text: pick([
                `{"type":"publish","ref":${ref},"body":${nested(int(65, 3000))}}`,
                `{"type":"publish","ref":{"a":1},"body":1}`,
                `{"type":"publish","ref":[1],"body":1}`,
                `{"type":"publish","ref":true,"body":1}`,
                `{"type":"publish","ref":${ref}}`,
                JSON.stringify(nextValue()) ?? "null",
                "null",
                "[]",
                `"publish"`,
              ]),
            },
          ],
        };
      case "text-garbage":
        return { kind, path, frames: [{ text: nextString() || "x" }, { text: "{" }] };
      case "binary":
        return { kind, path, frames: [{ binary: bytes(int(1, 512)) }] };
      case "oversize":
        return { kind, path, frames: [{ text: "z".repeat(maxBodyBytes + int(1, 1000)) }] };
      case "app-frames":
        return {
          kind,
          path,
          frames: [
            { text: '{"type":"ping"}' },
            { text: '{"type":"pong"}' },
            { text: JSON.stringify({ type: nextString() }) },
          ],
        };
      case "raw-frames":
        // Random header bits (FIN, RSV, opcode), mask flag and lengths that lie.
        return { kind, path, frames: [], raw: bytes(int(2, 300)) };
      default:
        return {
          kind,
          path: pick([
            `/ws/chat/${encodeURIComponent(channelLike())}?since=${encodeURIComponent(cursorLike())}`,
            `/ws/chat/${HEALTHY_CHANNEL}?user=${encodeURIComponent(nextString())}`,
            "/ws/other",
            "/ws/chat/",
          ]),
          frames: [],
        };
    }
  }

  return { http, publish, websocket, random: random as Random };
}
