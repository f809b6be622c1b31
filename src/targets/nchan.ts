import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { runFailed } from "../shared/errors.js";
import type { Problem } from "../shared/problem.js";
import { subfieldProblems, unusedFieldProblems, wireProblems } from "./checks.js";
import { templateClient } from "./custom.js";
import { createTemplatePublisher } from "./http-publisher.js";
import { nchanEventStream, nchanPoll, nchanWebSocket } from "./nchan-wire.js";
import type { PublishTemplate, TargetProtocol, TargetWire, WireField } from "./types.js";
import { type PresetPaths, resolvePresetPaths } from "./wire.js";

/**
 * Nchan (nginx + the Nchan module): publish with `POST /pub?id={channel}`,
 * subscribe on `/sub?id={channel}` by WebSocket, EventSource or long poll.
 * Paths (and the publish request) are overridable for a server configured
 * differently; resume and framing are Nchan's own (nchan-wire.ts). Nchan's
 * interval polls are not offered: each answers one message, so a poll
 * every `shortPoll.interval` falls behind any channel faster than that.
 */

const FIELDS: readonly WireField[] = ["publish", "websocket", "sse", "longPoll", "message"];

/** Sub-fields Nchan reads; resume, subscribe frames and pointers into frames are its own. */
const SUBFIELDS: Partial<Record<WireField, readonly string[]>> = {
  websocket: ["path"],
  sse: ["path"],
  longPoll: ["path"],
  message: ["body"],
};

const DEFAULT_WIRE: PresetPaths & Required<Pick<TargetWire, "message">> = {
  publish: {
    method: "POST",
    path: "/pub?id={channel}",
    body: "{body}",
    // text/json: the answer is Nchan's channel info as JSON rather than plain text.
    headers: { "content-type": "application/json", accept: "text/json" },
  },
  websocket: { path: "/sub?id={channel}" },
  sse: { path: "/sub?id={channel}" },
  longPoll: { path: "/sub?id={channel}" },
  message: { body: "" },
};

export const nchan: TargetProtocol = {
  name: "nchan",
  description: "Nchan, the pub/sub module for nginx: WebSocket, EventSource and long polling.",
  fields: FIELDS,

  problems(given: TargetWire): Problem[] {
    return [
      ...unusedFieldProblems(given, "nchan", FIELDS),
      ...wireProblems(given),
      ...subfieldProblems(given, "nchan", SUBFIELDS, "its resume and framing are Nchan's own"),
    ];
  },

  resolve(given: TargetWire): TargetWire {
    return {
      ...resolvePresetPaths(DEFAULT_WIRE, given),
      message: { ...DEFAULT_WIRE.message, ...given.message },
    };
  },

  offered: () => ["long-poll", "sse", "websocket"],
  acknowledges: () => true,
  publishVia: ["http"],
  cannot: {
    drop: "Nchan has no route that closes a share of its subscribers' connections (DELETE on a channel also deletes its messages)",
    "stall-clients":
      "Nchan cannot tell rtbench which zombie clients it dropped, so nothing would be measured",
  },
  commandPlaceholders: { loadNchanModule },

  client(transport: string, wire: TargetWire) {
    return templateClient(transport, {
      websocket: () => nchanWebSocket(wire),
      "event-stream": () => nchanEventStream(wire),
      poll: () => nchanPoll(wire),
    });
  },

  publisher(wire, url, { connections, context }) {
    return createTemplatePublisher(url, wire.publish as PublishTemplate, { connections, context });
  },
};

const MODULE_FILE = "ngx_nchan_module.so";

/** Where distributions put nginx's dynamic modules, after the one nginx -V names. */
const MODULE_DIRS = [
  "/usr/lib/nginx/modules",
  "/usr/lib64/nginx/modules",
  "/usr/share/nginx/modules",
  "/etc/nginx/modules",
  "/usr/local/lib/nginx/modules",
  "/usr/local/nginx/modules",
  "/opt/homebrew/lib/nginx/modules",
];

/**
 * `{loadNchanModule}`: the `load_module` line for the Nchan module, with an
 * absolute path (a config run with `-p {dir}/` resolves relative paths
 * there). $RTBENCH_NCHAN_MODULE names the file; else the directory nginx -V
 * reports, then the usual ones. A comment when Nchan is built into nginx.
 */
export function loadNchanModule(): string {
  const given = process.env.RTBENCH_NCHAN_MODULE;
  if (given) return `load_module ${given};`;
  const version = spawnSync("nginx", ["-V"], { encoding: "utf8" });
  const built = `${version.stdout ?? ""}${version.stderr ?? ""}`;
  if (/--add-module=\S*nchan/.test(built)) return "# the Nchan module is built into this nginx";
  const named = /--modules-path=(\S+)/.exec(built)?.[1];
  const dirs = named ? [named, ...MODULE_DIRS] : MODULE_DIRS;
  for (const dir of dirs) {
    const file = join(dir, MODULE_FILE);
    if (existsSync(file)) return `load_module ${file};`;
  }
  throw runFailed(
    `the Nchan module (${MODULE_FILE}) was not found in ${dirs.join(", ")}: install it (Debian and Ubuntu: apt-get install nginx libnginx-mod-nchan) or set RTBENCH_NCHAN_MODULE to its path`,
  );
}
