import type { Server } from "node:http";
import type { Http2Server } from "node:http2";
import type { Socket } from "node:net";

/** How every HTTP/2 connection with prior knowledge begins (RFC 9113, section 3.4). */
const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n");

/**
 * Serves cleartext HTTP/2 (prior knowledge) on the HTTP/1.1 server's port:
 * each new connection is looked at before a server takes it, and one that
 * opens with the HTTP/2 preface goes to `h2`. One port means one URL per
 * instance for every transport.
 *
 * The HTTP/1.1 server keeps listening itself (it tracks its connections for
 * its timeouts only when it is the one listening), so its own "connection"
 * listener is taken off and called here for HTTP/1.1 connections. The first
 * bytes are read in paused mode and put back with unshift(): both servers
 * read what is buffered before they consume the socket.
 */
export function serveH2cOnSamePort(
  http1: Server,
  h2: Http2Server,
  /** A connection that sends nothing this long is closed: no server has taken it yet to time it. */
  firstBytesTimeoutMs: number,
): void {
  const takeHttp1 = http1.listeners("connection") as ((socket: Socket) => void)[];
  http1.removeAllListeners("connection");
  http1.on("connection", (socket: Socket) => {
    sniff(socket, firstBytesTimeoutMs, (isH2) => {
      if (isH2) {
        // The HTTP/1.1 server's sockets are half-open (allowHalfOpen): HTTP/2
        // has no use for that, and a session whose client sent FIN would
        // otherwise stay open, its descriptor in CLOSE-WAIT, for good.
        socket.once("end", destroyOnEnd);
        h2.emit("connection", socket);
      } else for (const listener of takeHttp1) listener.call(http1, socket);
    });
  });
}

function destroyOnEnd(this: Socket): void {
  this.destroy();
}

function sniff(socket: Socket, timeoutMs: number, decide: (isH2: boolean) => void): void {
  // A reset before the first bytes: nobody else listens yet, and an unheard error would crash.
  const onError = () => socket.destroy();
  socket.on("error", onError);
  const silent = setTimeout(() => socket.destroy(), timeoutMs);
  socket.once("close", () => clearTimeout(silent));
  const onReadable = () => {
    const head = socket.read() as Buffer | null;
    if (head === null) return;
    socket.unshift(head);
    // Wait for more only while what came could still become the preface
    // (HTTP/1.1 methods differ from "PRI " by the second byte at the latest).
    if (head.length < PREFACE.length && PREFACE.subarray(0, head.length).equals(head)) return;
    clearTimeout(silent);
    socket.off("readable", onReadable);
    socket.off("error", onError);
    decide(head.subarray(0, PREFACE.length).equals(PREFACE));
  };
  socket.on("readable", onReadable);
}
