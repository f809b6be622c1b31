import type { Http2Server } from "node:http2";
import type { Server as HttpsServer } from "node:https";
import type { TLSSocket } from "node:tls";

/** The reference server's certificate and key (PEM text). Never logged, never in a result. */
export interface ServerTlsOptions {
  cert: string;
  key: string;
}

/** What the server offers by ALPN: HTTP/2 first, as browsers prefer it, then HTTP/1.1. */
export const SERVER_ALPN = ["h2", "http/1.1"];

/**
 * Serves HTTP/2 over TLS on the HTTPS server's port, as browsers reach a
 * site: each connection's ALPN choice decides which server takes it, `h2`
 * to the HTTP/2 server, anything else (http/1.1, or no ALPN) to HTTPS.
 * The TLS counterpart of serveH2cOnSamePort (h2c.ts): the HTTPS server's
 * own "secureConnection" listener is taken off and called here for
 * HTTP/1.1 connections. `onSecure` counts each handshake that completed.
 */
export function serveH2OverAlpn(
  https: HttpsServer,
  h2: Http2Server,
  onSecure: (alpn: "h2" | "http/1.1") => void,
): void {
  const takeHttp1 = https.listeners("secureConnection") as ((socket: TLSSocket) => void)[];
  https.removeAllListeners("secureConnection");
  https.on("secureConnection", (socket: TLSSocket) => {
    if (socket.alpnProtocol === "h2") {
      onSecure("h2");
      h2.emit("connection", socket);
    } else {
      onSecure("http/1.1");
      for (const listener of takeHttp1) listener.call(https, socket);
    }
  });
  // A client that fails its handshake (no trust, wrong version, plaintext) is its own business.
  https.on("tlsClientError", (_error, socket) => socket.destroy());
}
