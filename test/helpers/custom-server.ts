import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { type WebSocket, WebSocketServer } from "ws";

/**
 * A small real-time server with a wire of its own, for the `custom`
 * protocol's tests: nothing in it is rtbench's reference protocol.
 *
 * - `POST /publish/<channel>` with `x-key: abc` and `{"data": <body>}`;
 * - `GET /live?topic=<channel>&after=<seq>`: a WebSocket of `{"seq", "data"}`
 *   frames, opened by a `{"type":"hello"}` frame that carries no data;
 * - `GET /events/<channel>`: SSE with `id: <seq>`, resumed by Last-Event-ID,
 *   opened by an unnamed event without data and pinged by `event: ping`;
 * - `GET /poll/<channel>?after=<seq>&wait=<s>`: `{"items": [...], "next"}`,
 *   held up to `wait` seconds when nothing is newer than `after`.
 */
export interface CustomServer {
  url: string;
  /** Publishes accepted, per channel. */
  published: Map<string, number>;
  close(): Promise<void>;
}

interface Item {
  seq: number;
  data: unknown;
}

interface Channel {
  items: Item[];
  streams: Set<ServerResponse>;
  sockets: Set<WebSocket>;
  waiters: Set<() => void>;
}

export async function startCustomServer(): Promise<CustomServer> {
  const channels = new Map<string, Channel>();
  const published = new Map<string, number>();
  const channel = (name: string): Channel => {
    let found = channels.get(name);
    if (!found) {
      found = { items: [], streams: new Set(), sockets: new Set(), waiters: new Set() };
      channels.set(name, found);
    }
    return found;
  };
  const lastSeq = (c: Channel) => c.items.at(-1)?.seq ?? 0;
  const after = (c: Channel, seq: number) => c.items.filter((item) => item.seq > seq);

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const [, route, name] = url.pathname.split("/");
    if (req.method === "POST" && route === "publish" && name) publish(req, res, name);
    else if (route === "events" && name) stream(req, res, channel(decodeURIComponent(name)));
    else if (route === "poll" && name) poll(url, res, channel(decodeURIComponent(name)));
    else res.writeHead(404).end();
  });

  function publish(req: IncomingMessage, res: ServerResponse, name: string): void {
    let text = "";
    req.setEncoding("utf8").on("data", (chunk: string) => {
      text += chunk;
    });
    req.on("end", () => {
      if (req.headers["x-key"] !== "abc") {
        res.writeHead(403).end('{"error":"bad key"}');
        return;
      }
      const c = channel(decodeURIComponent(name));
      const item = { seq: lastSeq(c) + 1, data: (JSON.parse(text) as { data: unknown }).data };
      c.items.push(item);
      published.set(name, (published.get(name) ?? 0) + 1);
      const json = JSON.stringify(item);
      for (const s of c.streams) s.write(`id: ${item.seq}\ndata: ${json}\n\n`);
      for (const ws of c.sockets) ws.send(json);
      for (const wake of c.waiters) wake();
      res.writeHead(200, { "content-type": "application/json" }).end(`{"seq":${item.seq}}`);
    });
  }

  function stream(req: IncomingMessage, res: ServerResponse, c: Channel): void {
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    res.write('data: {"hello":true}\n\n');
    const from = Number(req.headers["last-event-id"] ?? lastSeq(c));
    for (const item of after(c, from))
      res.write(`id: ${item.seq}\ndata: ${JSON.stringify(item)}\n\n`);
    c.streams.add(res);
    const ping = setInterval(() => res.write("event: ping\ndata: {}\n\n"), 200);
    res.on("close", () => {
      clearInterval(ping);
      c.streams.delete(res);
    });
  }

  function poll(url: URL, res: ServerResponse, c: Channel): void {
    const given = url.searchParams.get("after") ?? "";
    // No cursor yet: from now, as a short poll answering with the current position.
    const from = given === "" ? lastSeq(c) : Number(given);
    const answer = () => {
      const items = after(c, from);
      res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ items, next: items.at(-1)?.seq ?? from }));
    };
    const waitMs = Number(url.searchParams.get("wait") ?? 0) * 1000;
    if (after(c, from).length > 0 || waitMs === 0 || given === "") {
      answer();
      return;
    }
    const done = () => {
      clearTimeout(timer);
      c.waiters.delete(done);
      answer();
    };
    const timer = setTimeout(done, waitMs);
    c.waiters.add(done);
    res.on("close", () => {
      clearTimeout(timer);
      c.waiters.delete(done);
    });
  }

  const wss = new WebSocketServer({ noServer: true });
  server.on("upgrade", (req, socket, head) => {
    const url = new URL(req.url ?? "/", "http://x");
    const topic = url.searchParams.get("topic");
    if (url.pathname !== "/live" || !topic) {
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const c = channel(topic);
      ws.send('{"type":"hello"}');
      const from = url.searchParams.has("after")
        ? Number(url.searchParams.get("after"))
        : lastSeq(c);
      for (const item of after(c, from)) ws.send(JSON.stringify(item));
      c.sockets.add(ws);
      ws.on("close", () => c.sockets.delete(ws));
    });
  });

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    published,
    close: async () => {
      for (const ws of wss.clients) ws.terminate();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
