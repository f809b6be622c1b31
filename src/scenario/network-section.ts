/**
 * `clients.network`: the network each simulated client sits behind, read
 * into profiles (clients/network-profile.ts), with the checks between it
 * and the rest of the scenario (transports and targets whose clients
 * cannot be shaped are refused, with the reason).
 */

import type { SlowPlan } from "../clients/network-profile.js";
import {
  NETWORK_PRESETS,
  type NetworkFields,
  type NetworkProfile,
  type NetworkShare,
  PERFECT_NETWORK,
  parseBandwidth,
} from "../clients/network-profile.js";
import type { Problem } from "../shared/problem.js";
import { findTransport } from "../shared/transports.js";
import { targetProtocol } from "../targets/registry.js";
import { type Doc, tryParse } from "./reader.js";
import type { Scenario } from "./types.js";
import { parseDuration } from "./units.js";

/**
 * The mix of networks in `raw` (the value of `clients.network`, shaped as
 * the schema says), or null when absent. One profile is a mix of one at
 * fraction 1.
 */
export function readNetwork(raw: unknown): NetworkShare[] | null {
  if (raw === undefined || raw === null) return null;
  if (Array.isArray(raw)) {
    return raw.map((entry) => ({
      profile: readProfile(entry),
      fraction:
        typeof (entry as Doc).fraction === "number" ? ((entry as Doc).fraction as number) : 0,
    }));
  }
  return [{ profile: readProfile(raw), fraction: 1 }];
}

/** A preset's name, or fields over a preset (or over a perfect network). */
function readProfile(raw: unknown): NetworkProfile {
  if (typeof raw === "string") return { name: raw, ...presetFields(raw) };
  const fields = (typeof raw === "object" && raw !== null ? raw : {}) as Doc;
  const preset = typeof fields.profile === "string" ? fields.profile : undefined;
  const base = preset === undefined ? PERFECT_NETWORK : presetFields(preset);
  const overrides = Object.keys(fields).some((key) => key !== "profile" && key !== "fraction");
  const hole = fields.blackhole as Doc | undefined;
  return {
    name: preset === undefined ? "custom" : overrides ? `${preset}+` : preset,
    latencyMs: ms(fields.latency, base.latencyMs),
    jitterMs: ms(fields.jitter, base.jitterMs),
    downBytesPerSec: bandwidth(fields.down, base.downBytesPerSec),
    upBytesPerSec: bandwidth(fields.up, base.upBytesPerSec),
    loss: typeof fields.loss === "number" ? fields.loss : base.loss,
    blackhole:
      hole === undefined ? base.blackhole : { everyMs: ms(hole.every, 0), forMs: ms(hole.for, 0) },
  };
}

function presetFields(name: string): NetworkFields {
  return NETWORK_PRESETS[name] ?? PERFECT_NETWORK;
}

// Values the schema rejected are reported already; they read as the fallback here.
function parsed(parse: (text: string) => number, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  return value === 0 ? 0 : tryParse(parse, String(value), fallback);
}

function ms(value: unknown, fallback: number): number {
  return parsed(parseDuration, value, fallback);
}

function bandwidth(value: unknown, fallback: number): number {
  return parsed(parseBandwidth, value, fallback);
}

/** `clients.slow` (shaped as the schema says), or null when absent. */
export function readSlow(raw: unknown): SlowPlan | null {
  if (typeof raw !== "object" || raw === null) return null;
  const { count, fraction, down } = raw as Doc;
  return {
    count: typeof count === "number" ? count : 0,
    fraction: typeof fraction === "number" ? fraction : 0,
    downBytesPerSec: bandwidth(down, 0),
  };
}

/** Checks between `clients.network` or `clients.slow` and the rest of the scenario. */
export function networkProblems(scenario: Scenario, isBad: (path: string) => boolean): Problem[] {
  const problems = slowProblems(scenario, isBad);
  const mix = scenario.clients.network;
  if (mix === null || isBad("clients.network")) return problems;
  const total = mix.reduce((sum, share) => sum + share.fraction, 0);
  if (total > 1 + 1e-9) {
    problems.push({
      path: "clients.network",
      text: `expected fractions that sum to at most 1, found ${Number(total.toFixed(6))}`,
    });
  }
  mix.forEach((share, k) => {
    const path =
      mix.length === 1 && share.fraction === 1 ? "clients.network" : `clients.network[${k}]`;
    const hole = share.profile.blackhole;
    if (hole !== null && !(hole.everyMs > hole.forMs && hole.forMs > 0)) {
      problems.push({
        path: `${path}.blackhole`,
        text: `expected 0 < for < every, found every ${hole.everyMs} ms and for ${hole.forMs} ms`,
      });
    }
  });
  problems.push(...unshapeableProblems(scenario, "clients.network"));
  return problems;
}

function slowProblems(scenario: Scenario, isBad: (path: string) => boolean): Problem[] {
  const slow = scenario.clients.slow;
  if (slow === null || isBad("clients.slow")) return [];
  const problems: Problem[] = [];
  if (slow.count > 0 === slow.fraction > 0) {
    problems.push({
      path: "clients.slow",
      text: `expected one of count or fraction, found ${slow.count > 0 ? "both" : "neither"}`,
    });
  } else if (!isBad("clients.count") && slow.count >= scenario.clients.count) {
    problems.push({
      path: "clients.slow.count",
      text: `expected fewer than clients.count (${scenario.clients.count}), so some clients are fast, found ${slow.count}`,
    });
  }
  if (!(slow.downBytesPerSec > 0)) {
    problems.push({ path: "clients.slow.down", text: "expected a bandwidth above 0" });
  }
  problems.push(...unshapeableProblems(scenario, "clients.slow"));
  return problems;
}

/**
 * Why some of the scenario's clients cannot sit behind a shaped network
 * (clients.network, a flap fault), one problem at `path` per reason.
 */
export function unshapeableProblems(scenario: Scenario, path: string): Problem[] {
  const problems: Problem[] = [];
  const refusal = scenario.target && targetProtocol(scenario.target.protocol).networkRefusal;
  if (refusal) {
    problems.push({
      path,
      text: `expected clients rtbench can shape: target.protocol ${scenario.target?.protocol}: ${refusal}`,
    });
  }
  // With fallback, every transport a client may end on.
  for (const name of new Set([
    ...scenario.protocols,
    ...(scenario.clients.fallback?.order ?? []),
  ])) {
    const row = findTransport(name);
    if (row === undefined) continue;
    const settings = scenario.transports[name]?.settings ?? {};
    const why =
      row.networkRefusal === undefined
        ? `its client does not take a network (no networkRefusal on its transport row)`
        : row.networkRefusal(settings);
    if (why !== null) {
      problems.push({
        path,
        text: `expected clients rtbench can shape, found protocol ${name}: ${why}`,
      });
    }
  }
  return problems;
}
