import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";

/**
 * Requests pipelined on one connection beyond the one being answered; one
 * more closes the connection. Node parses everything that arrived in one
 * read at once, so a client writing hundreds of requests in one packet
 * would otherwise have hundreds of answers built and buffered for it.
 * Browsers do not pipeline, and rtbench's clients send one at a time.
 */
export const MAX_WAITING_REQUESTS = 32;

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** One connection: whether an answer is in flight, and the requests waiting behind it, in order. */
interface Turns {
  handle: Handler;
  busy: boolean;
  waiting: ServerResponse[];
}

const bySocket = new WeakMap<Socket, Turns>();

/**
 * Wraps a request handler so that each HTTP/1.1 connection has at most one
 * answer in flight: a pipelined request waits until the answer before it is
 * complete (handed to the kernel) or the connection closed, so the write
 * deadline of the answer in flight bounds the wait of all behind it.
 */
export function oneAnswerAtATime(handle: Handler): Handler {
  return (req, res) => {
    const socket = req.socket;
    let turns = bySocket.get(socket);
    if (turns === undefined) {
      turns = { handle, busy: false, waiting: [] };
      bySocket.set(socket, turns);
    }
    if (!turns.busy) {
      run(turns, res);
      return;
    }
    if (socket.destroyed) return;
    if (turns.waiting.length >= MAX_WAITING_REQUESTS) {
      socket.destroy();
      return;
    }
    turns.waiting.push(res);
  };
}

function run(turns: Turns, res: ServerResponse): void {
  turns.busy = true;
  // 'close' follows 'finish' (everything handed to the kernel) and also comes on a reset.
  res.once("close", onAnswered);
  turns.handle(res.req, res);
}

function onAnswered(this: ServerResponse): void {
  const socket = this.req.socket;
  const turns = bySocket.get(socket);
  if (turns === undefined) return;
  turns.busy = false;
  const next = turns.waiting.shift();
  if (next === undefined) return;
  // The connection closed while requests waited: nobody to answer them.
  if (socket.destroyed) {
    turns.waiting.length = 0;
    return;
  }
  run(turns, next);
}
