/**
 * A target named on the command line (`rtbench ab`'s two sides): the URL of
 * a running server, or a shell command that starts one. It replaces where
 * the scenario's target is and keeps how it speaks (protocol, wire
 * templates, health check, files), so one scenario file measures both sides.
 */
import { type Doc, isMapping } from "./reader.js";

export type TargetPlace = { url: string } | { command: string };

/** `http://...` or `https://...` is a running server; anything else is a command. */
export function readTargetPlace(text: string): TargetPlace {
  return /^https?:\/\//i.test(text.trim()) ? { url: text.trim() } : { command: text };
}

/** What only a server rtbench starts has: dropped when the place is a URL. */
const COMMAND_FIELDS = ["command", "instances", "health", "startTimeout", "files"];

/**
 * The scenario document with its target at `place`. A `server` section
 * describes the bundled server, which a run against a named target does not
 * start, so it goes.
 */
export function withTargetPlace(document: Doc, place: TargetPlace): Doc {
  const own = document.target;
  const target: Doc = isMapping(own) ? { ...own } : {};
  delete target.url;
  delete target.urls;
  if ("url" in place) {
    for (const field of COMMAND_FIELDS) delete target[field];
    target.url = place.url;
  } else {
    target.command = place.command;
  }
  const { server: _bundledServer, ...rest } = document;
  return { ...rest, target };
}
