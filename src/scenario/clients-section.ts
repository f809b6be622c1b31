/**
 * The parts of the `clients` section beyond plain values: channel skew,
 * members and churn, with the checks between them and the rest.
 */
import type { Problem } from "../shared/problem.js";
import type { Reader } from "./reader.js";
import type { ChannelSkew, ChurnOptions, Scenario } from "./types.js";
import { formatDuration, parseDuration } from "./units.js";

const ZIPF = /^zipf\((\d+(?:\.\d+)?|\.\d+)\)$/;

/** `even`, `zipf(1.1)` or a list of weights (the schema checked the shape). */
export function readChannelSkew(raw: unknown): ChannelSkew {
  if (Array.isArray(raw)) return { kind: "weights", weights: raw.map(Number) };
  const zipf = typeof raw === "string" ? ZIPF.exec(raw) : null;
  if (zipf) return { kind: "zipf", exponent: Number(zipf[1]) };
  return { kind: "even" };
}

/** `clients.churn`, or null when absent. */
export function readChurn(read: Reader): ChurnOptions | null {
  const raw = read.raw("clients.churn");
  if (typeof raw !== "object" || raw === null) return null;
  const { every, offlineFor, fraction } = raw as Record<string, unknown>;
  const ms = (value: unknown) => {
    try {
      return value === 0 ? 0 : parseDuration(String(value));
    } catch {
      return 0;
    }
  };
  return {
    everyMs: ms(every),
    offlineForMs: ms(offlineFor),
    fraction: typeof fraction === "number" ? fraction : 0,
  };
}

/** Checks between the clients section and the rest of the scenario. */
export function clientsProblems(scenario: Scenario, isBad: (path: string) => boolean): Problem[] {
  const problems: Problem[] = [];
  const { clients } = scenario;
  const skew = clients.channelSkew;
  if (
    skew.kind === "weights" &&
    !isBad("clients.channelSkew") &&
    !isBad("clients.channels") &&
    skew.weights.length !== clients.channels
  ) {
    problems.push({
      path: "clients.channelSkew",
      text: `expected one weight per channel (clients.channels is ${clients.channels}), found ${skew.weights.length}`,
    });
  }
  if (
    !isBad("clients.members") &&
    !isBad("clients.count") &&
    clients.members > 0 &&
    clients.members < clients.count
  ) {
    problems.push({
      path: "clients.members",
      text: `expected 0 or at least clients.count (${clients.count}): members are the clients plus those who never connect, found ${clients.members}`,
    });
  }
  const churn = clients.churn;
  if (churn !== null && !isBad("clients.churn")) {
    for (const [field, valueMs] of [
      ["every", churn.everyMs],
      ["offlineFor", churn.offlineForMs],
    ] as const) {
      if (!(valueMs > 0)) {
        problems.push({
          path: `clients.churn.${field}`,
          text: "expected a duration above 0",
        });
      }
    }
    const windowMs = scenario.durationMs - scenario.warmupMs;
    if (churn.offlineForMs > 0 && churn.offlineForMs >= windowMs && windowMs > 0) {
      problems.push({
        path: "clients.churn.offlineFor",
        text: `expected less than the measured window (duration - warmup = ${formatDuration(windowMs)}), or no client comes back while it is measured, found ${formatDuration(churn.offlineForMs)}`,
      });
    }
  }
  return problems;
}
