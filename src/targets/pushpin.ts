import { formatFound, type Problem } from "../shared/problem.js";
import { subfieldProblems, unusedFieldProblems, wireProblems } from "./checks.js";
import { templateClient } from "./custom.js";
import { createPushpinPublisher } from "./pushpin-publisher.js";
import { pushpinEventStream, pushpinPoll, pushpinWebSocket } from "./pushpin-wire.js";
import type { PublishTemplate, TargetProtocol, TargetWire, WireField } from "./types.js";
import { type PresetPaths, resolvePresetPaths } from "./wire.js";

/**
 * Pushpin, the GRIP reverse proxy (behind Fastly Fanout): clients hold long
 * polls, SSE streams and WebSockets on Pushpin, which asks an origin what
 * each request subscribes to (GRIP headers; WebSocket-over-HTTP for
 * WebSockets), and a publisher pushes through Pushpin's publish API with the
 * format each transport needs (pushpin-publisher.ts). The default paths are
 * those of the example origin (examples/targets/pushpin/origin.js), which
 * keeps a history per channel so that every transport resumes from a cursor.
 */

const FIELDS: readonly WireField[] = ["publish", "websocket", "sse", "longPoll", "pushpin"];

/** Sub-fields Pushpin reads; resume and framing are its own (pushpin-wire.ts). */
const SUBFIELDS: Partial<Record<WireField, readonly string[]>> = {
  publish: ["path", "headers"],
  websocket: ["path"],
  sse: ["path"],
  longPoll: ["path"],
  pushpin: ["control"],
};

const DEFAULT_WIRE: PresetPaths = {
  publish: {
    method: "POST",
    path: "/publish/",
    body: "{body}",
    headers: { "content-type": "application/json" },
  },
  websocket: { path: "/ws/{channel}" },
  sse: { path: "/stream/{channel}" },
  longPoll: { path: "/poll/{channel}" },
};

export const pushpin: TargetProtocol = {
  name: "pushpin",
  description:
    "Pushpin, the GRIP proxy: long polling, SSE and WebSocket held by Pushpin, published through its publish API.",
  fields: FIELDS,

  problems(given: TargetWire): Problem[] {
    const problems = [
      ...unusedFieldProblems(given, "pushpin", FIELDS),
      ...wireProblems(given),
      ...subfieldProblems(
        given,
        "pushpin",
        SUBFIELDS,
        "its publish items, resume and framing are Pushpin's own",
      ),
    ];
    const control = given.pushpin?.control;
    if (control !== undefined && !/^https?:\/\//.test(control)) {
      problems.push({
        path: "target.pushpin.control",
        text: `expected the http:// URL of Pushpin's publish API (its control port, e.g. http://127.0.0.1:5561), found ${formatFound(control)}`,
      });
    }
    return problems;
  },

  resolve(given: TargetWire): TargetWire {
    return { ...resolvePresetPaths(DEFAULT_WIRE, given), pushpin: { ...given.pushpin } };
  },

  offered: () => ["long-poll", "sse", "websocket"],
  acknowledges: () => true,
  publishVia: ["http"],
  cannot: {
    drop: "Pushpin has no route that closes a share of its subscribers' connections",
    "stall-clients":
      "Pushpin cannot tell rtbench which zombie clients it dropped, so nothing would be measured",
  },

  client(transport: string, wire: TargetWire) {
    return templateClient(transport, {
      websocket: () => pushpinWebSocket(wire),
      "event-stream": () => pushpinEventStream(wire),
      poll: () => pushpinPoll(wire),
    });
  },

  publisher(wire, url, { connections, context }) {
    return createPushpinPublisher(wire.pushpin?.control ?? url, wire.publish as PublishTemplate, {
      connections,
      context,
    });
  },
};
