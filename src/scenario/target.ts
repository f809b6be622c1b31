/**
 * The scenario's `target:` to `TargetOptions`, with the checks the schema
 * cannot make: url or urls, what only goes with `command`, the command's
 * placeholders and files, and the protocol's own fields (templates, JSON
 * Pointers), each named by its path in the file.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { formatFound, type Problem } from "../shared/problem.js";
import { defaultTransportNames, isTransportName, type ProtocolName } from "../shared/transports.js";
import { templateProblems } from "../targets/checks.js";
import {
  DEFAULT_TARGET_PROTOCOL,
  findTargetProtocol,
  targetProtocol,
} from "../targets/registry.js";
import { placeholdersOf } from "../targets/template.js";
import type { TargetWire } from "../targets/types.js";
import { type Doc, isMapping } from "./reader.js";
import { readTargetTls } from "./tls-section.js";
import type { Scenario, ScenarioOverrides, TargetCommand, TargetOptions } from "./types.js";
import { parseDuration } from "./units.js";

/** Placeholders every command and file may use; a protocol may add its own. */
export const COMMAND_PLACEHOLDERS = ["port", "instance", "dir", "scenarioDir", "redisUrl"] as const;

/** `target.*` defaults, as written in a file (the schema says the same; a test compares them). */
export const TARGET_DEFAULTS = {
  protocol: DEFAULT_TARGET_PROTOCOL,
  instances: 1,
  startTimeout: "30s",
} as const;

const WIRE_FIELDS = [
  "publish",
  "websocket",
  "sse",
  "longPoll",
  "shortPoll",
  "message",
  "poll",
  "socketio",
  "pushpin",
] as const satisfies readonly (keyof TargetWire)[];

/** Fields that only mean something when rtbench starts the server. */
const COMMAND_ONLY = ["instances", "health", "startTimeout", "files"] as const;

export interface TargetContext {
  /** The scenario file (relative files are found from its directory); null for text in memory. */
  file: string | null;
  /** The reference server's heartbeat interval: what a reference target's watchdog assumes. */
  serverHeartbeatMs: number;
  isBad: (path: string) => boolean;
  problems: Problem[];
}

/** `target:` as a URL, a list of URLs or a server description; null when absent. */
export function readTarget(raw: unknown, ctx: TargetContext): TargetOptions | null {
  if (raw === undefined || raw === null) return null;
  if (typeof raw === "string") return referenceTarget([raw], ctx);
  if (Array.isArray(raw)) return referenceTarget(raw.map(String), ctx);
  if (typeof raw !== "object") return null;
  const doc = raw as Doc;
  const problem = (path: string, text: string) => {
    if (!ctx.isBad(path)) ctx.problems.push({ path, text });
  };

  const protocolName =
    typeof doc.protocol === "string" && findTargetProtocol(doc.protocol)
      ? doc.protocol
      : DEFAULT_TARGET_PROTOCOL;
  const protocol = targetProtocol(protocolName);
  const given: TargetWire = {};
  for (const field of WIRE_FIELDS) {
    if (isMapping(doc[field])) (given as Doc)[field] = doc[field];
  }
  for (const found of protocol.problems(given)) problem(found.path, found.text);

  const { url, urls } = readUrls(doc, problem);
  const command =
    typeof doc.command === "string"
      ? readCommand(doc, doc.command, { url, urls }, protocol.commandPlaceholders, ctx, problem)
      : checkRunningPlace(doc, { url, urls }, ctx, problem);
  return {
    urls: command ? commandUrls(command) : (urls ?? (url === undefined ? [] : [url])),
    protocol: protocolName,
    command,
    heartbeatIntervalMs: heartbeatOf(doc.heartbeatInterval, protocolName, ctx),
    wire: protocol.resolve(given),
    tls: readTargetTls(doc.tls, ctx.file, ctx.problems),
  };
}

/** `target: URL` or a list of them: the reference server's protocol, already running. */
function referenceTarget(urls: string[], ctx: TargetContext): TargetOptions {
  return {
    urls: urls.map(trimSlash),
    protocol: DEFAULT_TARGET_PROTOCOL,
    command: null,
    heartbeatIntervalMs: ctx.serverHeartbeatMs,
    wire: {},
    tls: null,
  };
}

/** `target.url` or `target.urls` (not both), each a valid base URL. */
function readUrls(doc: Doc, problem: (path: string, text: string) => void): TargetUrls {
  const url = typeof doc.url === "string" ? trimSlash(doc.url) : undefined;
  const urls = Array.isArray(doc.urls) ? doc.urls.map((u) => trimSlash(String(u))) : undefined;
  if (url !== undefined && urls !== undefined) {
    problem("target.urls", "expected url or urls, not both, found both");
  }
  for (const [path, value] of [
    ["target.url", url],
    ...(urls ?? []).map((u, i) => [`target.urls[${i}]`, u]),
  ] as [string, string | undefined][]) {
    if (value === undefined) continue;
    const found = targetUrlProblem(value);
    if (found !== null) problem(path, found);
  }
  return { url, urls };
}

interface TargetUrls {
  url: string | undefined;
  urls: string[] | undefined;
}

/** A server already running: where it listens, and none of the fields that start one. */
function checkRunningPlace(
  doc: Doc,
  { url, urls }: TargetUrls,
  ctx: TargetContext,
  problem: (path: string, text: string) => void,
): null {
  for (const field of COMMAND_ONLY) {
    if (doc[field] === undefined) continue;
    problem(
      `target.${field}`,
      `only with target.command (without it rtbench starts no server), found ${formatFound(doc[field])}`,
    );
  }
  if (url === undefined && urls === undefined && !ctx.isBad("target")) {
    problem(
      "target",
      "expected url or urls (where the server listens), or command (how rtbench starts it), found neither",
    );
  }
  return null;
}

/** `target.heartbeatInterval`, or the reference server's for its own protocol; null: unknown. */
function heartbeatOf(raw: unknown, protocolName: string, ctx: TargetContext): number | null {
  if (typeof raw === "string" || raw === 0) return tryDuration(raw);
  return protocolName === DEFAULT_TARGET_PROTOCOL ? ctx.serverHeartbeatMs : null;
}

/** A server rtbench starts: one url at most (the first instance's port), never a list. */
function readCommand(
  doc: Doc,
  line: string,
  { url, urls }: TargetUrls,
  own: Readonly<Record<string, unknown>> | undefined,
  ctx: TargetContext,
  problem: (path: string, text: string) => void,
): TargetCommand {
  if (urls !== undefined) {
    problem(
      "target.urls",
      "expected url (instance i listens on its port + i) or no url (free ports) with target.command, found a list",
    );
  }
  const allowed = [...COMMAND_PLACEHOLDERS, ...Object.keys(own ?? {})];
  const scenarioDir = dirname(resolve(ctx.file ?? "scenario.yaml"));
  for (const found of templateProblems("target.command", line, allowed)) {
    problem(found.path, found.text);
  }
  let needsRedis = placeholdersOf(line).includes("redisUrl");
  const files: string[] = [];
  const listed = Array.isArray(doc.files) ? doc.files : [];
  listed.forEach((entry, index) => {
    if (typeof entry !== "string") return;
    const path = `target.files[${index}]`;
    const file = resolve(scenarioDir, entry);
    if (!existsSync(file)) {
      problem(
        path,
        `expected a template file (relative to the scenario file), found no file at ${file}`,
      );
      return;
    }
    const text = readFileSync(file, "utf8");
    for (const found of templateProblems(path, text, allowed)) {
      problem(found.path, found.text.replace(/, found .*$/s, ` (in ${file})`));
    }
    needsRedis ||= placeholdersOf(text).includes("redisUrl");
    files.push(file);
  });
  const parsed = url !== undefined && URL.canParse(url) ? new URL(url) : null;
  const defaultPort = parsed?.protocol === "https:" ? 443 : 80;
  return {
    line,
    instances: typeof doc.instances === "number" ? doc.instances : TARGET_DEFAULTS.instances,
    origin: parsed ? `${parsed.protocol}//${parsed.hostname}` : "http://127.0.0.1",
    basePort: parsed ? Number(parsed.port || defaultPort) : null,
    health: typeof doc.health === "string" ? doc.health : null,
    startTimeoutMs: tryDuration(doc.startTimeout ?? TARGET_DEFAULTS.startTimeout) ?? 30_000,
    files,
    scenarioDir,
    needsRedis,
  };
}

/**
 * A target offers only some transports: the default protocol list is the
 * default transports it offers, and a listed one it does not offer is a
 * problem naming the protocol and what it offers.
 */
export function checkTargetTransports(
  scenario: Scenario,
  doc: Record<string, unknown>,
  overrides: ScenarioOverrides,
  problems: Problem[],
): void {
  const target = scenario.target;
  if (target === null) return;
  const protocol = targetProtocol(target.protocol);
  const offered = protocol.offered(target.wire);
  const listed = overrides.protocols ?? (doc.protocols as ProtocolName[] | undefined);
  if (listed === undefined) {
    const defaults = defaultTransportNames().filter((name) => offered.includes(name));
    scenario.protocols = defaults.length > 0 ? defaults : offered;
  } else {
    listed.forEach((name, index) => {
      if (offered.includes(name) || !isTransportName(name)) return;
      problems.push({
        path: `protocols[${index}]${overrides.protocols ? " (override)" : ""}`,
        text: `expected a transport that protocol ${protocol.name} offers (${offered.join(", ") || "none"}), found ${JSON.stringify(name)}`,
      });
    });
  }
  const via = scenario.publish.via;
  if (doc.publish !== undefined && !protocol.publishVia.includes(via)) {
    problems.push({
      path: "publish.via",
      text: `expected ${protocol.publishVia.join(" or ")} for protocol ${protocol.name}, found ${JSON.stringify(via)}`,
    });
  }
}

/** What is wrong with a target's base URL, or null. https:// speaks TLS (`target.tls`). */
export function targetUrlProblem(url: string): string | null {
  if (!URL.canParse(url)) {
    return `expected a valid http:// or https:// URL, found ${formatFound(url)}`;
  }
  const { protocol } = new URL(url);
  if (protocol !== "http:" && protocol !== "https:") {
    return `expected an http:// or https:// URL, found ${formatFound(url)}`;
  }
  return null;
}

/** The instances' base URLs when the ports are known up front. */
export function commandUrls(command: TargetCommand): string[] {
  if (command.basePort === null) return [];
  const base = command.basePort;
  return Array.from({ length: command.instances }, (_, i) => `${command.origin}:${base + i}`);
}

function tryDuration(value: unknown): number | null {
  if (value === 0) return 0;
  try {
    return parseDuration(String(value));
  } catch {
    return null;
  }
}

/** Clients append routes (`/api/messages`) to the base URL, so a trailing slash would double. */
function trimSlash(url: string): string {
  return url.endsWith("/") ? url.slice(0, -1) : url;
}
