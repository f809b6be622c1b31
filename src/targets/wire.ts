import { basePathOf } from "../clients/http.js";
import { compileTemplate, fillTemplate, type Template } from "./template.js";
import type { TargetWire } from "./types.js";

/**
 * Filling a target's templates: values go into URLs URL-encoded and into
 * JSON text (frames, publish bodies) JSON-escaped, so a template author
 * writes `"{channel}"` inside a JSON string and `{body}` where a JSON value
 * goes.
 */

/** The values a subscriber's templates may use. */
export interface SubscriberValues {
  channel: string;
  user: string;
  /** The cursor to resume after; "" before the server gave one. */
  cursor: string;
}

/** A URL path template under a base URL's path prefix (`http://host/prefix`). */
export class PathTemplate {
  private readonly template: Template;

  constructor(text: string) {
    this.template = compileTemplate(text);
  }

  fill(baseUrl: string, values: Readonly<Record<string, string>>): string {
    return basePathOf(baseUrl) + this.fillBare(values);
  }

  /** Without the base URL's prefix: a part appended to a path already filled. */
  fillBare(values: Readonly<Record<string, string>>): string {
    const encoded: Record<string, string> = {};
    for (const key in values) encoded[key] = encodeURIComponent(values[key] as string);
    return fillTemplate(this.template, encoded);
  }
}

/** A template of JSON text: `{body}` as it is, every other value JSON-escaped. */
export class JsonTextTemplate {
  private readonly template: Template;

  constructor(text: string) {
    this.template = compileTemplate(text);
  }

  fill(values: Readonly<Record<string, string>>, bodyJson?: string): string {
    const escaped: Record<string, string> = {};
    for (const key in values) escaped[key] = JSON.stringify(values[key]).slice(1, -1);
    if (bodyJson !== undefined) escaped.body = bodyJson;
    return fillTemplate(this.template, escaped);
  }
}

/** Plain text values (header values): as they are. */
export function fillPlain(text: string, values: Readonly<Record<string, string>>): string {
  return fillTemplate(compileTemplate(text), values);
}

/** `ws://` for `http://`, `wss://` for `https://`. */
export function webSocketUrl(baseUrl: string, path: string): URL {
  const url = new URL(path, baseUrl);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  return url;
}

/** JSON text, or undefined when it is not JSON (a stranger's frame, counted as unrecognised). */
export function parseJsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A cursor value read from a message: strings and numbers as text; anything else is no cursor. */
export function cursorText(value: unknown): string {
  return typeof value === "string" || typeof value === "number" ? String(value) : "";
}

/** The publish request and subscriber paths of a preset protocol (nchan, pushpin). */
export type PresetPaths = Required<Pick<TargetWire, "publish" | "websocket" | "sse" | "longPoll">>;

/** A preset's paths and publish request with the scenario's fields over its defaults (headers merged). */
export function resolvePresetPaths(defaults: PresetPaths, given: TargetWire): PresetPaths {
  const publish = given.publish;
  return {
    publish: {
      ...defaults.publish,
      ...publish,
      headers: { ...defaults.publish.headers, ...publish?.headers },
    },
    websocket: { ...defaults.websocket, ...given.websocket },
    sse: { ...defaults.sse, ...given.sse },
    longPoll: { ...defaults.longPoll, ...given.longPoll },
  };
}
