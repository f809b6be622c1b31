import type { connect as netConnect } from "node:net";
import WebSocket, { type RawData } from "ws";
import { MAX_WS_MESSAGE_BYTES } from "./bounds.js";
import type { HttpTarget } from "./lean-http.js";
import { LeanState, type LeanWebSocketHandler } from "./lean-ws.js";
import type { SocketTracker } from "./types.js";
import { trackedConnection } from "./ws-socket.js";

/** permessage-deflate as a client offers it (RFC 7692): `websocket.deflate*` settings. */
export interface DeflateOffer {
  /** Frames shorter than this are sent uncompressed. */
  threshold: number;
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
}

/** The offer for a transport's `deflateThreshold` and `deflateNoContextTakeover` settings. */
export function deflateOffer(threshold: number, noContextTakeover: string): DeflateOffer {
  return {
    threshold,
    serverNoContextTakeover: noContextTakeover === "server" || noContextTakeover === "both",
    clientNoContextTakeover: noContextTakeover === "client" || noContextTakeover === "both",
  };
}

/**
 * A WebSocket that speaks permessage-deflate, with the lean client's face
 * (state, send, close, terminate, and the same handler): the `ws` package
 * underneath, whose zlib streams inflate and deflate with the context kept
 * across messages, as browsers do. The lean client speaks no extension;
 * rather than a second inflate implementation, deflate runs use this one,
 * and pay `ws`'s heavier per-connection state (a request, a receiver and a
 * sender, and a zlib context each way) on top of deflate's own.
 */
export class DeflateWebSocket {
  state = LeanState.Connecting;
  private readonly ws: WebSocket;
  private refused = false;

  constructor(
    target: HttpTarget,
    path: string,
    sockets: SocketTracker,
    private readonly handler: LeanWebSocketHandler,
    handshakeTimeoutMs: number,
    subprotocols: readonly string[],
    offer: DeflateOffer,
  ) {
    const url = `${target.secure ? "wss" : "ws"}://${target.authority}${path}`;
    this.ws = new WebSocket(url, [...subprotocols], {
      perMessageDeflate: {
        threshold: offer.threshold,
        serverNoContextTakeover: offer.serverNoContextTakeover,
        clientNoContextTakeover: offer.clientNoContextTakeover,
      },
      maxPayload: MAX_WS_MESSAGE_BYTES,
      handshakeTimeout: handshakeTimeoutMs,
      createConnection: trackedConnection(
        sockets,
        target.secure ? target.tls : undefined,
      ) as typeof netConnect,
      ...(target.source === undefined
        ? {}
        : { localAddress: target.source.address, localPort: target.source.port }),
    });
    this.ws.on("open", () => {
      this.state = LeanState.Open;
      this.handler.onOpen();
    });
    this.ws.on("message", (data: RawData, isBinary: boolean) => {
      this.handler.onActivity?.();
      this.handler.onMessage(data as Buffer, isBinary);
    });
    this.ws.on("ping", () => this.handler.onActivity?.());
    this.ws.on("unexpected-response", (_request, response) => {
      this.refused = true;
      this.state = LeanState.Closed;
      const headers = Object.entries(response.headers)
        .map(([name, value]) => `${name}: ${Array.isArray(value) ? value.join(", ") : value}`)
        .join("\r\n");
      response.resume();
      this.handler.onRefused(response.statusCode ?? 0, response.statusMessage ?? "", headers);
      this.ws.terminate();
    });
    // "close" follows every error; its code and reason say what happened.
    let errorText = "";
    this.ws.on("error", (error) => {
      errorText ||= error.message;
    });
    this.ws.on("close", (code: number, reason: Buffer) => {
      this.state = LeanState.Closed;
      if (this.refused) return;
      this.handler.onClose(code, reason.length > 0 ? reason.toString() : errorText);
    });
  }

  send(text: string | Buffer): void {
    if (this.state === LeanState.Open) this.ws.send(text);
  }

  close(code = 1000): void {
    if (this.state === LeanState.Connecting) {
      this.terminate();
      return;
    }
    if (this.state !== LeanState.Open) return;
    this.state = LeanState.Closing;
    this.ws.close(code);
    setTimeout(() => this.ws.terminate(), 2000).unref();
  }

  terminate(): void {
    this.ws.terminate();
  }
}
