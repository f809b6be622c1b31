/**
 * The scenario's `reconnect:` policy and the per-transport overrides
 * (`websocket: { reconnect: { jitter: none } }`), merged field by field over it.
 */

import type { Problem } from "../shared/problem.js";
import { transports } from "../shared/transports.js";
import { RECONNECT_DEFAULTS } from "./defaults.js";
import { type Doc, isMapping } from "./reader.js";
import type { ReconnectPolicy } from "./types.js";
import { formatDuration, parseDuration } from "./units.js";

/** RECONNECT_DEFAULTS, normalised. */
export const DEFAULT_RECONNECT: ReconnectPolicy = {
  initialDelayMs: parseDuration(RECONNECT_DEFAULTS.initialDelay),
  maxDelayMs: parseDuration(RECONNECT_DEFAULTS.maxDelay),
  multiplier: RECONNECT_DEFAULTS.multiplier,
  jitter: RECONNECT_DEFAULTS.jitter,
  maxRetries: RECONNECT_DEFAULTS.maxRetries,
  resume: RECONNECT_DEFAULTS.resume,
  watchdogIntervals: RECONNECT_DEFAULTS.watchdog,
  honorServerRetry: RECONNECT_DEFAULTS.honorServerRetry,
};

export interface ReconnectPolicies {
  reconnect: ReconnectPolicy;
  /** Keyed by transport name; each transport's section may override the policy. */
  byTransport: Record<string, ReconnectPolicy>;
}

/**
 * Reads the top-level policy and each section's, checking what the schema
 * cannot: initialDelay above 0 and not above maxDelay (after merging, so an
 * override that only lowers maxDelay is caught too).
 */
export function readReconnectPolicies(
  doc: Doc,
  isBad: (path: string) => boolean,
  problems: Problem[],
): ReconnectPolicies {
  const reconnect = merge(DEFAULT_RECONNECT, doc.reconnect, "reconnect", isBad);
  check(reconnect, "reconnect", isBad, problems);
  const byTransport: Record<string, ReconnectPolicy> = {};
  for (const { name, section } of transports()) {
    const sectionDoc = doc[section];
    const override = isMapping(sectionDoc) ? sectionDoc.reconnect : undefined;
    const path = `${section}.reconnect`;
    const policy = override === undefined ? reconnect : merge(reconnect, override, path, isBad);
    if (override !== undefined) check(policy, path, isBad, problems, override);
    byTransport[name] = policy;
  }
  return { reconnect, byTransport };
}

/** `base` with the fields `raw` sets; fields the schema rejected keep the base value. */
function merge(
  base: ReconnectPolicy,
  raw: unknown,
  path: string,
  isBad: (path: string) => boolean,
): ReconnectPolicy {
  if (!isMapping(raw)) return base;
  const good = (key: string) => raw[key] !== undefined && !isBad(`${path}.${key}`);
  const policy = { ...base };
  if (good("initialDelay"))
    policy.initialDelayMs = durationMs(raw.initialDelay, base.initialDelayMs);
  if (good("maxDelay")) policy.maxDelayMs = durationMs(raw.maxDelay, base.maxDelayMs);
  if (good("multiplier")) policy.multiplier = raw.multiplier as number;
  if (good("jitter")) policy.jitter = raw.jitter as ReconnectPolicy["jitter"];
  if (good("maxRetries")) policy.maxRetries = raw.maxRetries as number;
  if (good("resume")) policy.resume = raw.resume as boolean;
  if (good("watchdog")) policy.watchdogIntervals = raw.watchdog as number;
  if (good("honorServerRetry")) policy.honorServerRetry = raw.honorServerRetry as boolean;
  return policy;
}

/**
 * Relations inside one merged policy. For an override, a problem is reported
 * only when the override sets one of the fields involved, so one bad
 * top-level value is not repeated once per protocol.
 */
function check(
  policy: ReconnectPolicy,
  path: string,
  isBad: (path: string) => boolean,
  problems: Problem[],
  override?: unknown,
): void {
  const sets = (key: string) => override === undefined || (isMapping(override) && key in override);
  if (!isBad(`${path}.initialDelay`) && sets("initialDelay") && !(policy.initialDelayMs > 0)) {
    problems.push({
      path: `${path}.initialDelay`,
      text: `expected a duration above 0 (a zero delay never grows: clients would retry in a busy loop), found ${quoted(policy.initialDelayMs)}`,
    });
    return;
  }
  const related = sets("initialDelay") || sets("maxDelay");
  if (
    related &&
    !isBad(`${path}.initialDelay`) &&
    !isBad(`${path}.maxDelay`) &&
    policy.initialDelayMs > policy.maxDelayMs
  ) {
    problems.push({
      path: `${path}.maxDelay`,
      text: `expected at least initialDelay (${formatDuration(policy.initialDelayMs)}), found ${quoted(policy.maxDelayMs)}`,
    });
  }
}

function durationMs(raw: unknown, fallbackMs: number): number {
  if (raw === 0) return 0;
  try {
    return parseDuration(raw as string);
  } catch {
    return fallbackMs;
  }
}

function quoted(ms: number): string {
  return JSON.stringify(formatDuration(ms));
}
