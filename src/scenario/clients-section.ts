/**
 * The parts of the `clients` section beyond plain values: channel skew,
 * members and churn, with the checks between them and the rest.
 */
import { runKey } from "../metrics/run-keys.js";
import type { Problem } from "../shared/problem.js";
import { isTransportName, type ProtocolName } from "../shared/transports.js";
import type { Reader } from "./reader.js";
import type { ChannelSkew, ChurnOptions, FallbackOptions, Scenario } from "./types.js";
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

/**
 * The run key of a scenario with `clients.fallback` and no variants:
 * `websocket@fallback`; with variants, each is `websocket@<variant>`.
 */
export const FALLBACK_VARIANT = "fallback";

/** `clients.fallback` with its step timeout, or null when absent (the schema checked the list). */
export function readFallback(read: Reader): FallbackOptions | null {
  const raw = read.raw("clients.fallback");
  if (!Array.isArray(raw) || raw.length === 0) return null;
  return {
    order: raw.filter((name): name is ProtocolName => typeof name === "string"),
    stepTimeoutMs: read.duration("clients.fallbackTimeout"),
  };
}

/** What the result's notes say of a fallback run: the order and the step timeout. */
export function fallbackNote(fallback: FallbackOptions): string {
  return `clients.fallback: each client tries ${fallback.order.join(", then ")}, giving a step ${formatDuration(fallback.stepTimeoutMs)} to become ready, and stays on the first that does`;
}

/**
 * A scenario with fallback is one run against the reference server (one per
 * variant), keyed by its first transport: `protocols` may name that one
 * only, and another server (target) is refused. `listed`: the protocols the
 * file or a flag named (undefined: none).
 */
export function fallbackProblems(
  scenario: Scenario,
  listed: readonly ProtocolName[] | undefined,
  listedPath: string,
  isBad: (path: string) => boolean,
): Problem[] {
  const fallback = scenario.clients.fallback;
  if (fallback === null || isBad("clients.fallback")) return [];
  const first = fallback.order[0] as ProtocolName;
  if (!fallback.order.every(isTransportName)) return [];
  const problems: Problem[] = [];
  const key = runKey(first, scenario.variants[0]?.name ?? FALLBACK_VARIANT);
  if (listed !== undefined && (listed.length !== 1 || listed[0] !== first)) {
    problems.push({
      path: listedPath,
      text: `expected [${first}] or no protocols with clients.fallback (one run${scenario.variants.length > 0 ? " per variant" : ""}, ${key}, whose clients try ${fallback.order.join(", then ")}), found [${listed.join(", ")}]`,
    });
  }
  if (scenario.target !== null) {
    problems.push({
      path: "clients.fallback",
      text: "expected the reference server rtbench starts (behind server.proxy or not): a target's transports are not tried in turn, found target",
    });
  }
  return problems;
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
