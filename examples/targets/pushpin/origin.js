#!/usr/bin/env node
// A small GRIP origin behind Pushpin, as an rtbench target
// (scenarios/targets/pushpin.yaml; launch.js starts it with Pushpin in
// front). It answers Pushpin's proxied requests with GRIP instructions and
// keeps a short history per channel, so that every transport resumes from a
// cursor:
//
//   GET  /poll/C?since=ID&timeout=S   long poll: answers at once with what
//        came after ID, else holds (Grip-Hold: response) on channel C with
//        prev-id=ID, so Pushpin asks again when it sees it missed one;
//        without `since` it answers at once with the current cursor.
//   GET  /stream/C  (Last-Event-ID)   SSE: Grip-Hold: stream on C, after a
//        replay of what came after the given id; Grip-Keep-Alive comments.
//   GET  /ws/C?since=ID               WebSocket-over-HTTP: subscribes the
//        connection to C by a GRIP control message, replays after ID, pings.
//   POST /publish/                    Pushpin's publish API request
//        ({"items": [...]}): each item is kept in its channel's history,
//        then the request goes on to Pushpin's control port, each prev-id
//        set to the id kept before it on that channel.
//   GET  /healthz                     200 through a hold Pushpin must take
//        over and a publish releases: both are up AND Pushpin's handler
//        accepts held requests (until it does, Pushpin answers a hold 500
//        "Accept service unavailable.", which a health check retries; a
//        /healthz answering at once let the first long polls meet that 500).
//
// The items (rtbench's pushpin publisher writes them) carry the formats
// every transport needs: `http-response` ({"messages":[{id, body}], "cursor"}),
// `http-stream` (an SSE event with its id: line) and `ws-message`
// ({"id", "body"}); the publisher's body passes through untouched.
//
//   node examples/targets/pushpin/origin.js --port 8000 --control http://127.0.0.1:5561
//     [--keep-alive 5]     seconds between SSE comments and WebSocket pings
//     [--history 1000]     messages kept per channel
import { Agent, createServer, request } from "node:http";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const JSON_TYPE = { "content-type": "application/json" };
const WS_EVENTS = "application/websocket-events";
const MAX_PUBLISH_BYTES = 1_000_000;

/** One channel's recent messages, oldest first, as each transport replays them. */
class History {
  /** @type {{id: string, poll: unknown, sse: string, ws: string}[]} */
  entries = [];

  constructor(limit) {
    this.limit = limit;
  }

  add(entry) {
    this.entries.push(entry);
    if (this.entries.length > this.limit) this.entries.shift();
  }

  get lastId() {
    return this.entries.at(-1)?.id ?? "0";
  }

  /**
   * What came after `cursor`: everything for "0" (the cursor of an empty
   * channel) or a cursor no longer kept (then `gap` is true: some are gone).
   */
  after(cursor) {
    if (cursor === "0") return { entries: this.entries, gap: false };
    for (let i = this.entries.length - 1; i >= 0; i--) {
      if (this.entries[i].id === cursor) return { entries: this.entries.slice(i + 1), gap: false };
    }
    return { entries: this.entries, gap: this.entries.length > 0 };
  }
}

/** The GRIP origin: a node:http request handler over per-channel histories. */
export function createOrigin({ control, keepAliveSeconds = 5, historyLimit = 1000 }) {
  const histories = new Map();
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const controlUrl = new URL("/publish/", control);

  const historyOf = (channel) => {
    let history = histories.get(channel);
    if (history === undefined) {
      history = new History(historyLimit);
      histories.set(channel, history);
    }
    return history;
  };

  function longPoll(res, channel, query) {
    const history = historyOf(channel);
    const since = query.get("since");
    if (!since) {
      res.writeHead(200, JSON_TYPE).end(pollAnswer([], history.lastId));
      return;
    }
    const { entries, gap } = history.after(since);
    if (entries.length > 0) {
      const gapInfo = gap ? { from: since, to: entries[0].id } : undefined;
      res.writeHead(200, JSON_TYPE).end(pollAnswer(entries, entries.at(-1).id, gapInfo));
      return;
    }
    const timeout = Number(query.get("timeout") ?? "25");
    res
      .writeHead(200, {
        ...JSON_TYPE,
        "grip-hold": "response",
        // prev-id: Pushpin delivers a message only when it follows `since`;
        // when one was missed it asks this origin again, which answers from history.
        "grip-channel": `${channel}; prev-id=${since}`,
        "grip-timeout": String(Number.isFinite(timeout) && timeout > 0 ? timeout : 25),
      })
      // What Pushpin answers when the hold times out: nothing new, same cursor.
      .end(pollAnswer([], since));
  }

  // /healthz through Pushpin is a held request Pushpin must hand to its
  // handler, released by a publish on its own channel: it answers 200 only
  // once Pushpin takes holds over. The release is sent a few times, as the
  // first may reach Pushpin before it subscribed the hold (a publish to a
  // channel nobody holds is dropped); a hold never released times out.
  let healthChecks = 0;
  function healthz(res) {
    const channel = `rtbench-healthz-${++healthChecks}`;
    res
      .writeHead(200, {
        "content-type": "text/plain",
        "grip-hold": "response",
        "grip-channel": channel,
        "grip-timeout": "5",
      })
      .end("ok\n");
    for (const ms of [50, 200, 600, 1200]) setTimeout(release, ms, channel).unref();
  }

  function release(channel) {
    const items = [{ channel, formats: { "http-response": { body: "ok\n" } } }];
    const body = Buffer.from(JSON.stringify({ items }));
    const forward = request(controlUrl, {
      method: "POST",
      agent,
      headers: { ...JSON_TYPE, "content-length": body.length },
    });
    forward.on("response", (answer) => answer.resume());
    forward.on("error", () => {}); // Pushpin not up yet: the check is retried.
    forward.end(body);
  }

  function eventStream(req, res, channel) {
    const lastEventId = req.headers["last-event-id"];
    const replay =
      typeof lastEventId === "string" && lastEventId !== ""
        ? historyOf(channel).after(lastEventId).entries
        : [];
    res.writeHead(200, {
      "content-type": "text/event-stream",
      "cache-control": "no-cache",
      "grip-hold": "stream",
      "grip-channel": channel,
      "grip-keep-alive": `:\\n\\n; format=cstring; timeout=${keepAliveSeconds}`,
    });
    res.end(`:ok\n\n${replay.map((entry) => entry.sse).join("")}`);
  }

  function webSocket(res, channel, query, events) {
    const reply = [];
    for (const event of events) {
      if (event.type === "OPEN") {
        reply.push(wsEvent("OPEN"));
        reply.push(gripControl("subscribe", { channel }));
        reply.push(
          gripControl("keep-alive", {
            content: "",
            "message-type": "ping",
            timeout: keepAliveSeconds,
          }),
        );
        const since = query.get("since");
        if (since) {
          for (const entry of historyOf(channel).after(since).entries) {
            reply.push(wsEvent("TEXT", entry.ws));
          }
        }
      } else if (event.type === "CLOSE") {
        reply.push(wsEvent("CLOSE", event.content));
      }
      // TEXT from a subscriber, PING, PONG: nothing to answer.
    }
    // grip: `c:` TEXT events are control messages; message-prefix="": every other
    // TEXT goes to the client as it is (the default would want an `m:` prefix).
    res
      .writeHead(200, {
        "content-type": WS_EVENTS,
        "sec-websocket-extensions": 'grip; message-prefix=""',
      })
      .end(Buffer.concat(reply));
  }

  /**
   * Keeps each item in its channel's history, then hands the request on to
   * Pushpin. Each item's prev-id becomes the id this origin kept before it
   * on that channel: the chain Pushpin checks is then the history's own, and
   * a publish that never got here (refused on the way) leaves no hole that
   * Pushpin would wait for (message_wait) before delivering the next.
   */
  function publish(res, received) {
    let items;
    try {
      items = JSON.parse(received.toString()).items;
      if (!Array.isArray(items)) throw new Error("no items");
      for (const { channel, id, formats } of items) {
        if (typeof channel !== "string" || typeof id !== "string" || typeof formats !== "object") {
          throw new Error("an item needs channel, id and formats");
        }
      }
    } catch (error) {
      res.writeHead(400, JSON_TYPE).end(JSON.stringify({ error: `bad publish: ${error.message}` }));
      return;
    }
    for (const item of items) {
      const { channel, id, formats } = item;
      const history = historyOf(channel);
      item["prev-id"] = history.lastId;
      history.add({
        id,
        poll: JSON.parse(formats["http-response"]?.body ?? "{}").messages?.[0],
        sse: formats["http-stream"]?.content ?? "",
        ws: formats["ws-message"]?.content ?? "",
      });
    }
    const body = Buffer.from(JSON.stringify({ items }));
    const forward = request(controlUrl, {
      method: "POST",
      agent,
      headers: { ...JSON_TYPE, "content-length": body.length },
    });
    forward.on("response", (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    forward.on("error", (error) => {
      res.writeHead(502, JSON_TYPE).end(JSON.stringify({ error: `Pushpin: ${error.message}` }));
    });
    forward.end(body);
  }

  return (req, res) => {
    const url = new URL(req.url ?? "/", "http://origin");
    const [, kind, encoded] = url.pathname.split("/");
    const channel = encoded ? decodeURIComponent(encoded) : "";
    const chunks = [];
    let size = 0;
    req.on("data", (chunk) => {
      size += chunk.length;
      if (size <= MAX_PUBLISH_BYTES) chunks.push(chunk);
    });
    req.on("end", () => {
      if (size > MAX_PUBLISH_BYTES) {
        res.writeHead(413, JSON_TYPE).end('{"error":"request body too large"}');
        return;
      }
      const body = Buffer.concat(chunks);
      if (kind === "healthz") healthz(res);
      else if (kind === "publish" && req.method === "POST") publish(res, body);
      else if (kind === "poll" && channel) longPoll(res, channel, url.searchParams);
      else if (kind === "stream" && channel) eventStream(req, res, channel);
      else if (kind === "ws" && channel && req.headers["content-type"] === WS_EVENTS) {
        webSocket(res, channel, url.searchParams, parseWsEvents(body));
      } else res.writeHead(404, JSON_TYPE).end('{"error":"not found"}');
    });
  };
}

/**
 * The origin as an HTTP server. Pushpin keeps its connections to the origin
 * open between requests; Node closes an idle one after 5 s by default, and a
 * request Pushpin sends on a connection as it closes fails with a 502
 * ("Error while proxying to origin"), so idle connections stay open longer
 * than Pushpin keeps them.
 */
export function createOriginServer(options) {
  const server = createServer(createOrigin(options));
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 125_000;
  return server;
}

function pollAnswer(entries, cursor, gap) {
  return JSON.stringify({ messages: entries.map((entry) => entry.poll), cursor, gap });
}

/** One WebSocket-over-HTTP event: `TYPE[ <hex length>]\r\n[content\r\n]`. */
function wsEvent(type, content) {
  if (content === undefined || content.length === 0) return Buffer.from(`${type}\r\n`);
  const bytes = Buffer.isBuffer(content) ? content : Buffer.from(content);
  return Buffer.concat([
    Buffer.from(`${type} ${bytes.length.toString(16)}\r\n`),
    bytes,
    Buffer.from("\r\n"),
  ]);
}

/** A GRIP control message: a TEXT event prefixed `c:` (the grip extension was accepted). */
function gripControl(type, fields) {
  return wsEvent("TEXT", `c:${JSON.stringify({ type, ...fields })}`);
}

/** The events of a WebSocket-over-HTTP request body. */
export function parseWsEvents(body) {
  const events = [];
  let at = 0;
  while (at < body.length) {
    const lineEnd = body.indexOf("\r\n", at);
    if (lineEnd < 0) break;
    const [type, hex] = body.toString("latin1", at, lineEnd).split(" ");
    at = lineEnd + 2;
    let content;
    if (hex !== undefined) {
      const length = Number.parseInt(hex, 16);
      content = body.subarray(at, at + length);
      at += length + 2;
    }
    events.push({ type, content });
  }
  return events;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values: flags } = parseArgs({
    options: {
      port: { type: "string", default: "8000" },
      host: { type: "string", default: "127.0.0.1" },
      control: { type: "string", default: "http://127.0.0.1:5561" },
      "keep-alive": { type: "string", default: "5" },
      history: { type: "string", default: "1000" },
    },
  });
  createOriginServer({
    control: flags.control,
    keepAliveSeconds: Number(flags["keep-alive"]),
    historyLimit: Number(flags.history),
  }).listen(Number(flags.port), flags.host);
}
