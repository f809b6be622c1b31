import { constants, type ServerHttp2Stream } from "node:http2";
import type { ServerContext } from "../context.js";
import { resetStream } from "../h2-sessions.js";
import { type EventSink, openEventStream, readStreamRequest } from "./sse.js";
import type { MountedTransport } from "./types.js";

/**
 * `GET /api/stream/C` as an HTTP/2 stream (cleartext, prior knowledge, on the
 * same port as HTTP/1.1): the same event stream as SSE, but a client's many
 * subscriptions share one TCP connection instead of one connection each.
 */
export function mountSseH2(ctx: ServerContext): MountedTransport {
  return {
    async stream(stream, headers, route) {
      const request = readStreamRequest(headers["last-event-id"], route);
      ctx.admission.admitSubscriber();
      stream.respond({
        ":status": 200,
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache",
      });
      await openEventStream(ctx, "sse-h2", streamSink(stream), request);
    },
  };
}

function streamSink(stream: ServerHttp2Stream): EventSink {
  return {
    writable: stream,
    write: (frame) => stream.write(frame),
    // HTTP/2 frames each stream's data itself: the event bytes are what is shared.
    writeEvent: (delivery) => stream.write(delivery.sseFrame),
    bufferedBytes: () => stream.writableLength,
    // END_STREAM: the client sees a clean end and reconnects, as after an HTTP/1.1 stream ends.
    end: () => stream.end(),
    // RST_STREAM with CANCEL: an abrupt end of this stream only; its session carries others.
    destroy: () => resetStream(stream, constants.NGHTTP2_CANCEL),
    isGone: () => stream.destroyed || stream.closed,
    onClose: (listener) => stream.once("close", listener),
  };
}
