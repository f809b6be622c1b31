import { createServer, type Server, type Socket } from "node:net";

/**
 * A raw TCP server on 127.0.0.1 that plays a hostile HTTP server: each
 * request head (one per connection, or one after another on a keep-alive
 * connection) goes to `answer`, which writes whatever bytes it likes.
 */
export interface HostileServer {
  url: string;
  /** Bytes written to clients so far, over every connection. */
  readonly bytesWritten: number;
  close(): Promise<void>;
}

export async function startHostileServer(
  answer: (socket: Socket, requestIndex: number, head: string) => void,
): Promise<HostileServer> {
  const sockets = new Set<Socket>();
  let written = 0;
  let requests = 0;
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.once("close", () => {
      written += socket.bytesWritten;
      sockets.delete(socket);
    });
    socket.on("error", () => {});
    let head = "";
    socket.on("data", (chunk) => {
      head += chunk.toString("latin1");
      let end = head.indexOf("\r\n\r\n");
      while (end >= 0) {
        const one = head.slice(0, end + 4);
        head = head.slice(end + 4);
        answer(socket, requests++, one);
        end = head.indexOf("\r\n\r\n");
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  return {
    url: `http://127.0.0.1:${address.port}`,
    get bytesWritten() {
      let total = written;
      for (const socket of sockets) total += socket.bytesWritten;
      return total;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * Writes `piece` again and again (waiting for the socket to drain, so this
 * process holds one piece, not the stream) until `totalBytes` are out or
 * the client cut the connection. Never allocates more than the piece.
 */
export async function pour(socket: Socket, piece: Buffer, totalBytes: number): Promise<void> {
  for (let sent = 0; sent < totalBytes && !socket.destroyed; sent += piece.length) {
    if (!socket.write(piece)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          socket.off("drain", done);
          socket.off("close", done);
          resolve();
        };
        socket.once("drain", done);
        socket.once("close", done);
      });
    }
  }
}

/** Samples this process's resident memory every 20 ms; `stop` gives the peak growth in bytes. */
export function watchRss(): { stop(): number } {
  const baseline = process.memoryUsage.rss();
  let peak = baseline;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 20);
  return {
    stop() {
      clearInterval(timer);
      peak = Math.max(peak, process.memoryUsage.rss());
      return peak - baseline;
    },
  };
}
