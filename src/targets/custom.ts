import type { ClientWire, WireDialects } from "../clients/dialect.js";
import { createClient } from "../clients/registry.js";
import type { ClientFactory } from "../clients/types.js";
import type { Problem } from "../shared/problem.js";
import { transport, type WireKind } from "../shared/transports.js";
import { unusedFieldProblems, wireProblems } from "./checks.js";
import { customEventStream, customPoll, customWebSocket } from "./custom-wire.js";
import { createTemplatePublisher } from "./http-publisher.js";
import type { PublishTemplate, TargetProtocol, TargetWire, WireField } from "./types.js";

/**
 * A server no preset knows, described by templates: a publish request, a
 * path per transport it offers, and JSON Pointers to the body and cursor in
 * what arrives. It offers exactly the transports it has a template for.
 */

const FIELDS: readonly WireField[] = [
  "publish",
  "websocket",
  "sse",
  "longPoll",
  "shortPoll",
  "message",
  "poll",
];

/** The transport each template offers, in table order. */
const TRANSPORT_OF: readonly [WireField, string][] = [
  ["shortPoll", "short-poll"],
  ["longPoll", "long-poll"],
  ["sse", "sse"],
  ["websocket", "websocket"],
];

export const PUBLISH_DEFAULTS: Omit<PublishTemplate, "path"> = {
  method: "POST",
  body: "{body}",
  headers: { "content-type": "application/json" },
};

export const custom: TargetProtocol = {
  name: "custom",
  description: "Any server, described by templates: paths, a publish request, JSON Pointers.",
  fields: FIELDS,

  problems(given: TargetWire): Problem[] {
    const problems = [...unusedFieldProblems(given, "custom", FIELDS), ...wireProblems(given)];
    const problem = (path: string, text: string) => problems.push({ path, text });
    if (given.publish === undefined) {
      problem(
        "target.publish",
        "expected a publish request for protocol custom, like {method: POST, path: /publish/{channel}, body: '{body}'}, found nothing",
      );
    }
    if (TRANSPORT_OF.every(([field]) => given[field] === undefined)) {
      problem(
        "target",
        "expected at least one of websocket, sse, longPoll or shortPoll for protocol custom (the transports the server offers), found none",
      );
    }
    if (given.message === undefined) {
      problem(
        "target.message",
        'expected {body: <JSON Pointer>} for protocol custom, saying where the published body is in what arrives (e.g. "/data"), found nothing',
      );
    }
    if ((given.longPoll || given.shortPoll) && given.poll === undefined) {
      problem(
        "target.poll",
        'expected {list: <JSON Pointer>} for polling, saying where the list of messages is in a poll answer (e.g. "/items"), found nothing',
      );
    }
    if (given.websocket?.resume !== undefined && given.message?.id === undefined) {
      problem(
        "target.websocket.resume",
        "expected target.message.id as well: the cursor to resume after is read from each message, found no message.id",
      );
    }
    return problems;
  },

  resolve(given: TargetWire): TargetWire {
    const wire = structuredClone(given);
    if (wire.publish) {
      wire.publish = {
        ...PUBLISH_DEFAULTS,
        ...wire.publish,
        headers: { ...PUBLISH_DEFAULTS.headers, ...wire.publish.headers },
      };
    }
    return wire;
  },

  offered(wire: TargetWire): string[] {
    return TRANSPORT_OF.filter(([field]) => wire[field] !== undefined).map(([, name]) => name);
  },

  acknowledges: () => true,
  publishVia: ["http"],
  cannot: {
    drop: "a custom server has no route rtbench knows for closing its subscribers' connections",
    "stall-clients":
      "a custom server cannot tell rtbench which zombie clients it dropped, so nothing would be measured",
  },

  client(transport: string, wire: TargetWire): ClientFactory {
    return templateClient(transport, {
      websocket: () => customWebSocket(wire),
      "event-stream": () => customEventStream(wire),
      poll: () => customPoll(wire),
    });
  },

  publisher(wire, url, { connections, context }) {
    return createTemplatePublisher(url, wire.publish as PublishTemplate, { connections, context });
  },
};

/** Makers of one server's dialects: only the one a shard's transport reads is made. */
export type DialectMakers = { readonly [K in WireKind]: () => WireDialects[K] };

/** The generic client of a transport, speaking the server's dialect (built once per shard). */
export function templateClient(name: string, dialects: DialectMakers): ClientFactory {
  const kind = transport(name).wire;
  if (kind === undefined) throw new RangeError(`${name} is not offered over this target's wire`);
  const wire: ClientWire = { [kind]: dialects[kind]() };
  return (options) => createClient(name, options, wire);
}
