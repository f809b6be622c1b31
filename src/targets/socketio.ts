import { formatFound, type Problem } from "../shared/problem.js";
import { inTableOrder } from "../shared/transports.js";
import { unusedFieldProblems, wireProblems } from "./checks.js";
import { compileSocketIoWire, ENGINE_TRANSPORT, SocketIoClient } from "./socketio-client.js";
import { createSocketIoPublisher } from "./socketio-publisher.js";
import type { SocketIoTemplate, TargetProtocol, TargetWire, WireField } from "./types.js";

/**
 * A Socket.IO server (socket.io-client on the generator's side): engine.io's
 * `websocket` and `polling` transports are rtbench's WebSocket and long-poll
 * columns. Subscribers join a channel through the handshake query; the
 * server emits each message as an event whose first argument is the body;
 * publishers emit an event, acknowledged by default. The defaults match
 * examples/targets/socketio-server.js; `target.socketio` fits another app.
 */

const FIELDS: readonly WireField[] = ["socketio", "message"];

export const SOCKETIO_DEFAULTS: SocketIoTemplate = {
  path: "/socket.io",
  query: { channel: "{channel}" },
  event: "message",
  publishEvent: "publish",
  publishPayload: '{"channel":"{channel}","body":{body}}',
  ack: true,
};

export const socketio: TargetProtocol = {
  name: "socketio",
  description: "Socket.IO: engine.io's WebSocket and long-polling transports, events both ways.",
  fields: FIELDS,

  problems(given: TargetWire): Problem[] {
    const problems = [...unusedFieldProblems(given, "socketio", FIELDS), ...wireProblems(given)];
    const payload = given.socketio?.publishPayload;
    if (payload !== undefined && !payload.includes("{body}")) {
      problems.push({
        path: "target.socketio.publishPayload",
        text: `expected {body} in it (where the published body goes), found ${formatFound(payload)}`,
      });
    }
    if (given.message?.id !== undefined) {
      problems.push({
        path: "target.message.id",
        text: "not used by protocol socketio (its cursor is the session and offset that connection state recovery gives), found a pointer",
      });
    }
    return problems;
  },

  resolve(given: TargetWire): TargetWire {
    return {
      socketio: {
        ...SOCKETIO_DEFAULTS,
        ...given.socketio,
        query: given.socketio?.query ?? SOCKETIO_DEFAULTS.query,
      },
      message: { body: given.message?.body ?? "" },
    };
  },

  offered: () => inTableOrder(Object.keys(ENGINE_TRANSPORT)),
  acknowledges: (wire) => wire.socketio?.ack !== false,
  publishVia: ["http"],
  cannot: {
    drop: "Socket.IO has no route that closes a share of its clients' connections",
    "stall-clients":
      "a Socket.IO server drops zombie clients on its own heartbeat but cannot tell rtbench when, so nothing would be measured",
  },

  client(transport: string, wire: TargetWire) {
    if (!(transport in ENGINE_TRANSPORT)) {
      throw new RangeError(`${transport} is not offered by Socket.IO`);
    }
    const compiled = compileSocketIoWire(wire);
    return (options) => new SocketIoClient(transport, options, compiled);
  },

  publisher(wire, url, { context }) {
    return createSocketIoPublisher(url, wire.socketio as SocketIoTemplate, context);
  },
};
