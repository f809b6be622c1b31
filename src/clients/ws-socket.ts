import {
  type NetConnectOpts,
  connect as netConnect,
  type Socket,
  type TcpNetConnectOpts,
} from "node:net";
import WebSocket from "ws";
import { type ClientTlsState, connectSocket } from "./tls.js";
import type { SocketTracker } from "./types.js";

/** How long a close handshake may take before the socket is cut. */
const CLOSE_HANDSHAKE_TIMEOUT_MS = 2_000;

/**
 * A `createConnection` for ws: the socket is tracked from its first byte, so
 * the HTTP upgrade counts in bytes on the wire too. With `tls` (a wss: URL)
 * it speaks TLS with the process's settings (trust, SNI, resumption).
 */
export function trackedConnection(
  sockets: SocketTracker,
  tls?: ClientTlsState,
): (options: NetConnectOpts) => Socket {
  return (options) => {
    const socket =
      tls === undefined
        ? netConnect(options)
        : connectSocket(tcpEndpoint(options as TcpNetConnectOpts), tls, undefined);
    sockets.track(socket);
    return socket;
  };
}

function tcpEndpoint(options: TcpNetConnectOpts) {
  return {
    host: options.host ?? "localhost",
    port: options.port,
    secure: true,
    localAddress: options.localAddress,
    localPort: options.localPort,
  };
}

/**
 * Closes with the handshake when the socket is open, else cuts it; a server
 * that never answers the close frame (stalled) gets the socket cut after a while.
 */
export function closeWebSocket(ws: WebSocket): void {
  if (ws.readyState === WebSocket.OPEN) {
    ws.close(1000);
    setTimeout(terminate, CLOSE_HANDSHAKE_TIMEOUT_MS, ws).unref();
  } else {
    ws.terminate();
  }
}

function terminate(ws: WebSocket): void {
  ws.terminate();
}
