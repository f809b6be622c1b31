import { connect, createServer } from "node:net";

/** A TCP port free on 127.0.0.1 right now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Opens a TCP connection to host:port and closes it: null when something
 * accepted it, else the error (ECONNREFUSED: nothing listens; a timeout).
 */
export function tcpConnectError(
  host: string,
  port: number,
  timeoutMs = 1000,
): Promise<Error | null> {
  return new Promise((resolve) => {
    const socket = connect({ host: host.replace(/^\[|\]$/g, ""), port });
    socket.setTimeout(timeoutMs);
    const done = (error: Error | null) => {
      socket.destroy();
      resolve(error);
    };
    socket.once("connect", () => done(null));
    // `on`, not `once`: a socket may emit a second error while it is destroyed.
    socket.on("error", (error) => done(error));
    socket.once("timeout", () =>
      done(Object.assign(new Error(`timed out after ${timeoutMs} ms`), { code: "ETIMEDOUT" })),
    );
  });
}
