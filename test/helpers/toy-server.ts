import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { type WebSocket, WebSocketServer } from "ws";

/**
 * A small server written for the tests, speaking just enough of the
 * reference protocol (publish, WebSocket and SSE subscribe, /healthz) to be
 * a `target`, with misbehaviours on request: slow acknowledgements, a
 * delivery delay that grows, frames no client can read, answering nothing
 * but /healthz, or 500 to everything else. Real sockets on 127.0.0.1.
 */
export interface ToyServerOptions {
  /** Answer every publish this long after storing and delivering it. */
  ackDelayMs?: number;
  /** Hold each delivery this long; `sinceFirstPublishMs` grows through the run. */
  deliveryDelayMs?: (sinceFirstPublishMs: number) => number;
  /** Send frames and events the protocol has no place for before each real message. */
  garbageFrames?: boolean;
  /** Answer /healthz and leave every other request without an answer. */
  healthOnly?: boolean;
  /** Answer /healthz and 500 to everything else. */
  failEverything?: boolean;
}

export interface ToyServer {
  url: string;
  /** Publishes stored so far. */
  readonly stored: number;
  close(): Promise<void>;
}

export async function startToyServer(options: ToyServerOptions = {}): Promise<ToyServer> {
  const subscribers = new Map<string, Set<(frame: string, sse: string) => void>>();
  const ids = new Map<string, number>();
  const sockets = new Set<Socket>();
  let firstPublishMs: number | null = null;
  let stored = 0;

  const deliver = (channel: string, message: object) => {
    const json = JSON.stringify(message);
    const frame = JSON.stringify({ type: "message", ...message });
    const send = () => {
      for (const subscriber of subscribers.get(channel) ?? []) subscriber(frame, json);
    };
    const delayMs = options.deliveryDelayMs?.(Date.now() - (firstPublishMs ?? Date.now())) ?? 0;
    if (delayMs > 0) setTimeout(send, delayMs);
    else send();
  };

  const store = (channel: string, body: unknown) => {
    firstPublishMs ??= Date.now();
    const id = (ids.get(channel) ?? 0) + 1;
    ids.set(channel, id);
    stored++;
    const message = { id, channel, ts: Date.now(), body };
    deliver(channel, message);
    return message;
  };

  const publish = (req: IncomingMessage, res: ServerResponse) => {
    let text = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => {
      text += chunk;
    });
    req.on("end", () => {
      const { channel, body } = JSON.parse(text) as { channel: string; body: unknown };
      const message = store(channel, body);
      const answer = () => {
        res.writeHead(201, { "content-type": "application/json" });
        res.end(JSON.stringify(message));
      };
      if (options.ackDelayMs) setTimeout(answer, options.ackDelayMs);
      else answer();
    });
  };

  const subscribe = (channel: string, send: (frame: string, sse: string) => void) => {
    const set = subscribers.get(channel) ?? new Set();
    set.add(send);
    subscribers.set(channel, set);
    return () => set.delete(send);
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://toy");
    if (url.pathname === "/healthz") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end('{"ok":true}');
    } else if (options.healthOnly) {
      // Say nothing, ever: the request stays open until the client gives up.
    } else if (options.failEverything) {
      res.writeHead(500, { "content-type": "application/json" });
      res.end('{"error":"toy server: failing on purpose"}');
    } else if (req.method === "POST" && url.pathname === "/api/messages") {
      publish(req, res);
    } else if (url.pathname.startsWith("/api/stream/")) {
      const channel = decodeURIComponent(url.pathname.slice("/api/stream/".length));
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
      res.write(":hello\n\n");
      const unsubscribe = subscribe(channel, (_frame, json) => {
        if (options.garbageFrames)
          res.write("event: message\ndata: null\n\nevent: message\ndata: {oops\n\n");
        res.write(`id: ${JSON.parse(json).id}\nevent: message\ndata: ${json}\n\n`);
      });
      res.on("close", unsubscribe);
    } else {
      res.writeHead(404, { "content-type": "application/json" });
      res.end('{"error":"toy server: no such route"}');
    }
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });

  const wss = new WebSocketServer({ noServer: true });
  server.on("upgrade", (req, socket, head) => {
    if (options.healthOnly) return; // never answer the upgrade
    const url = new URL(req.url ?? "/", "http://toy");
    if (options.failEverything || !url.pathname.startsWith("/ws/chat/")) {
      socket.end("HTTP/1.1 500 Internal Server Error\r\nconnection: close\r\n\r\n");
      return;
    }
    const channel = decodeURIComponent(url.pathname.slice("/ws/chat/".length));
    wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      const unsubscribe = subscribe(channel, (frame) => {
        if (options.garbageFrames) {
          for (const junk of ["null", "42", '"text"', "[1,2]", "{not json"]) ws.send(junk);
        }
        ws.send(frame);
      });
      ws.on("close", unsubscribe);
      // Publish frames: stored and delivered at once, acknowledged after ackDelayMs.
      ws.on("message", (data) => {
        const frame = JSON.parse(String(data)) as { type?: string; ref?: unknown; body?: unknown };
        if (frame.type !== "publish") return;
        const message = store(channel, frame.body);
        const ack = () => ws.send(JSON.stringify({ type: "ack", ref: frame.ref, id: message.id }));
        if (options.ackDelayMs) setTimeout(ack, options.ackDelayMs);
        else ack();
      });
    });
  });

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get stored() {
      return stored;
    },
    close: async () => {
      for (const client of wss.clients) client.terminate();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
