/**
 * Checks between fields of a normalised scenario that the schema cannot
 * make: durations that must be above zero, a target without a server
 * section, warmup within duration, a subscriber per channel, and threshold
 * keys naming only the scenario's variants.
 */
import { splitMetricName } from "../measures/names.js";
import { splitRunKey } from "../metrics/run-keys.js";
import { formatPath, type Problem } from "../shared/problem.js";
import { transports } from "../shared/transports.js";
import { FALLBACK_VARIANT } from "./clients-section.js";
import { type Doc, isMapping, type Reader } from "./reader.js";
import { targetUrlProblem } from "./target.js";
import { thresholdProblems } from "./thresholds.js";
import type { Scenario, ScenarioOverrides } from "./types.js";
import { formatDuration } from "./units.js";

/**
 * Durations that must be above zero; the schema admits `0` for all durations
 * because warmup, drain, rampUp and deliveryDelay are fine at zero. Every
 * transport's duration settings (`shortPoll.interval`) must be above zero too.
 */
const POSITIVE_DURATIONS = [
  "duration",
  "generator.maxEventLoopDelay",
  "publish.ackTimeout",
] as const;

/** POSITIVE_DURATIONS and every transport's duration settings above zero. */
export function durationProblems(
  scenario: Scenario,
  read: Reader,
  overrides: ScenarioOverrides,
  isBad: (path: string) => boolean,
): Problem[] {
  const durationOf: Record<(typeof POSITIVE_DURATIONS)[number], number> = {
    duration: scenario.durationMs,
    "generator.maxEventLoopDelay": scenario.generator.maxEventLoopDelayMs,
    "publish.ackTimeout": scenario.publish.ackTimeoutMs,
  };
  const positive = Object.entries(durationOf);
  for (const t of transports()) {
    for (const [key, setting] of Object.entries(t.settings)) {
      if (setting.kind !== "duration") continue;
      const value = scenario.transports[t.name]?.settings[setting.field];
      positive.push([`${t.section}.${key}`, Number(value)]);
    }
  }
  const problems: Problem[] = [];
  for (const [path, valueMs] of positive) {
    if (path === "duration" && overrides.durationMs !== undefined) continue;
    if (!isBad(path) && !(valueMs > 0)) {
      problems.push({
        path,
        text: `expected a duration above 0, found ${JSON.stringify(read.raw(path))}`,
      });
    }
  }
  return problems;
}

/** Relations between fields: target or server, warmup within duration, a subscriber per channel. */
export function relationProblems(
  doc: Doc,
  scenario: Scenario,
  read: Reader,
  isBad: (path: string) => boolean,
): Problem[] {
  const problems: Problem[] = [];
  const problem = (path: string, text: string) => problems.push({ path, text });
  const { clients } = scenario;
  if (doc.server !== undefined && doc.target !== undefined && doc.target !== null) {
    const proxied = isMapping(doc.server) && doc.server.proxy !== undefined;
    problem(
      "server",
      proxied
        ? "expected no server section when target is set: server.proxy goes in front of the reference instances only (a target's servers, target.command ones included, cannot be put behind it yet), found server.proxy with target"
        : "expected no server section when target is set (rtbench measures the running target and starts no server), found both",
    );
  }
  if (scenario.target !== null && !isBad("target") && !isMapping(doc.target)) {
    // The schema's pattern checks the shape; the URL parser catches the rest (ports, hosts).
    scenario.target.urls.forEach((url, index) => {
      const found = targetUrlProblem(url);
      if (found === null) return;
      problem(Array.isArray(doc.target) ? `target[${index}]` : "target", found);
    });
  }
  if (
    !isBad("warmup") &&
    !isBad("duration") &&
    scenario.durationMs > 0 &&
    scenario.warmupMs >= scenario.durationMs
  ) {
    problem(
      "warmup",
      `expected less than duration (${formatDuration(scenario.durationMs)}), found ${JSON.stringify(read.raw("warmup"))}`,
    );
  }
  if (!isBad("clients.channels") && !isBad("clients.count") && clients.channels > clients.count) {
    problem(
      "clients.channels",
      `expected at most clients.count (${clients.count}) so that every channel has a subscriber, found ${clients.channels}`,
    );
  }
  return problems;
}

/**
 * `thresholds:` keys: metric names and conditions checked here, not at the
 * end of a run (a typo in a CI gate must fail before minutes of load, not
 * after), and variants named in them.
 */
export function thresholdKeyProblems(
  raw: unknown,
  scenario: Scenario,
  isBad: (path: string) => boolean,
): Problem[] {
  if (!isMapping(raw)) return [];
  const problems: Problem[] = [];
  for (const found of thresholdProblems(raw)) {
    if (!isBad(found.entryPath)) problems.push({ path: found.path, text: found.text });
  }
  problems.push(...variantKeyProblems(Object.keys(raw), scenario, isBad));
  return problems;
}

/** Threshold keys naming a variant (`websocket@sticky.lost`) must name one of the scenario's. */
function variantKeyProblems(
  keys: string[],
  scenario: Scenario,
  isBad: (path: string) => boolean,
): Problem[] {
  const names = scenario.variants.map((v) => v.name);
  // A fallback run without variants is keyed websocket@fallback.
  if (scenario.clients.fallback !== null && names.length === 0) names.push(FALLBACK_VARIANT);
  return keys.flatMap((key) => {
    const path = formatPath(["thresholds", key]);
    const { variant } = splitRunKey(splitMetricName(key).protocol);
    if (variant === null || names.includes(variant) || isBad(path)) return [];
    const expected =
      names.length > 0 ? `one of ${names.join(", ")}` : "no variant (the scenario lists none)";
    return [{ path, text: `unknown variant "${variant}"; expected ${expected}` }];
  });
}
