import { formatFound, formatPath, type Problem } from "../shared/problem.js";
import { isJsonPointer } from "./json-pointer.js";
import { listPlaceholders, unknownPlaceholders } from "./template.js";
import type { TargetWire, WireField } from "./types.js";

/**
 * The checks a target's wire fields share across protocols, with the words
 * of every other scenario problem: where (`target.sse.path`), what was
 * expected, what was found.
 */

/** Placeholders each template may use. */
export const PLACEHOLDERS = {
  subscribePath: ["channel", "user"],
  pollPath: ["channel", "user", "cursor"],
  resume: ["cursor"],
  subscribeFrame: ["channel", "user", "cursor"],
  publishPath: ["channel"],
  publishBody: ["channel", "body"],
  publishHeader: ["channel"],
  socketIoQuery: ["channel", "user"],
  socketIoPayload: ["channel", "body"],
} as const satisfies Record<string, readonly string[]>;

export function templateProblems(
  path: string,
  text: string | undefined,
  allowed: readonly string[],
): Problem[] {
  if (text === undefined) return [];
  const unknown = unknownPlaceholders(text, allowed);
  if (unknown.length === 0) return [];
  const names = unknown.map((name) => `{${name}}`).join(", ");
  return [
    {
      path,
      text: `unknown placeholder ${names}: expected only ${listPlaceholders(allowed)}, found ${formatFound(text)}`,
    },
  ];
}

export function pointerProblems(path: string, text: string | undefined): Problem[] {
  if (text === undefined || isJsonPointer(text)) return [];
  return [
    {
      path,
      text: `expected a JSON Pointer (RFC 6901) like "/data" or "" for the whole document, found ${formatFound(text)}`,
    },
  ];
}

/** A wire field the protocol does not read: an error rather than a silently ignored setting. */
export function unusedFieldProblems(
  given: TargetWire,
  protocol: string,
  reads: readonly WireField[],
): Problem[] {
  return (Object.keys(given) as WireField[])
    .filter((field) => given[field] !== undefined && !reads.includes(field))
    .map((field) => ({
      path: `target.${field}`,
      text: `not used by protocol ${protocol} (it reads ${reads.length > 0 ? reads.join(", ") : "no wire fields"}), found ${formatFound(given[field])}`,
    }));
}

/**
 * Sub-fields a preset protocol does not read (`target.websocket.resume` for
 * nchan): `allowed` lists, per field, the ones it does; `why` says why the
 * rest are its own.
 */
export function subfieldProblems(
  given: TargetWire,
  protocol: string,
  allowed: Partial<Record<WireField, readonly string[]>>,
  why: string,
): Problem[] {
  const problems: Problem[] = [];
  for (const [field, names] of Object.entries(allowed)) {
    const value = given[field as WireField] as Record<string, unknown> | undefined;
    for (const key of Object.keys(value ?? {})) {
      if (names.includes(key)) continue;
      problems.push({
        path: `target.${field}.${key}`,
        text: `not used by protocol ${protocol} (${why}; only ${names.join(", ")} can be set), found ${formatFound(value?.[key])}`,
      });
    }
  }
  return problems;
}

/** Problems of the templates and pointers any protocol may be given. */
export function wireProblems(given: TargetWire): Problem[] {
  const problems: Problem[] = [];
  const { publish, websocket, sse, longPoll, shortPoll, message, poll, socketio } = given;
  problems.push(
    ...templateProblems("target.publish.path", publish?.path, PLACEHOLDERS.publishPath),
    ...templateProblems("target.publish.body", publish?.body, PLACEHOLDERS.publishBody),
    ...templateProblems("target.websocket.path", websocket?.path, PLACEHOLDERS.subscribePath),
    ...templateProblems("target.websocket.resume", websocket?.resume, PLACEHOLDERS.resume),
    ...templateProblems(
      "target.websocket.subscribe",
      websocket?.subscribe,
      PLACEHOLDERS.subscribeFrame,
    ),
    ...templateProblems("target.sse.path", sse?.path, PLACEHOLDERS.subscribePath),
    ...templateProblems("target.longPoll.path", longPoll?.path, PLACEHOLDERS.pollPath),
    ...templateProblems("target.shortPoll.path", shortPoll?.path, PLACEHOLDERS.pollPath),
    ...pointerProblems("target.message.body", message?.body),
    ...pointerProblems("target.message.id", message?.id),
    ...pointerProblems("target.poll.list", poll?.list),
    ...pointerProblems("target.poll.cursor", poll?.cursor),
    ...templateProblems(
      "target.socketio.publishPayload",
      socketio?.publishPayload,
      PLACEHOLDERS.socketIoPayload,
    ),
  );
  for (const [name, value] of Object.entries(publish?.headers ?? {})) {
    problems.push(
      ...templateProblems(
        formatPath(["target", "publish", "headers", name]),
        value,
        PLACEHOLDERS.publishHeader,
      ),
    );
  }
  for (const [name, value] of Object.entries(socketio?.query ?? {})) {
    problems.push(
      ...templateProblems(
        formatPath(["target", "socketio", "query", name]),
        value,
        PLACEHOLDERS.socketIoQuery,
      ),
    );
  }
  return problems;
}
