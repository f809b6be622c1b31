import { orderRunKeys, runLabel } from "../metrics/run-keys.js";
import type { ProtocolResult, RunResult } from "../metrics/types.js";

/**
 * The verdicts of a run in words, for every reporter (table, Markdown, HTML):
 * INVALID (nothing measured, or far fewer clients than asked for),
 * UNRELIABLE (rtbench saturated: the numbers may be its own) and SATURATED
 * (the server was the limit: a finding), each with its evidence. Pure.
 */

function measured(result: RunResult): [string, ProtocolResult][] {
  return orderRunKeys(Object.keys(result.protocols)).map((p) => [
    runLabel(p),
    result.protocols[p] as ProtocolResult,
  ]);
}

/** One line per protocol whose numbers do not describe the run asked for, with why. */
export function invalidLines(result: RunResult): string[] {
  return measured(result)
    .filter(([, p]) => p.status === "invalid")
    .map(([label, p]) => `INVALID on ${label}: ${(p.invalidReasons ?? []).join("; ")}`);
}

/**
 * One line per protocol whose generator saturated, with the reasons; null
 * when they cannot be told (an older result without them): the caller words it.
 */
export function unreliableLines(result: RunResult): string[] | null {
  const unhealthy = measured(result).filter(([, p]) => p.generator.reliable === false);
  if (unhealthy.length === 0 || unhealthy.some(([, p]) => p.saturation === undefined)) return null;
  return unhealthy.map(
    ([label, p]) =>
      `UNRELIABLE on ${label}: rtbench itself was the limit, the numbers may be its own: ${(p.saturation?.generator.reasons ?? []).join("; ")}`,
  );
}

/** One line per protocol whose server saturated: a finding about the server, with the evidence. */
export function saturatedLines(result: RunResult): string[] {
  return measured(result)
    .filter(([, p]) => p.saturation?.server.saturated === true)
    .map(
      ([label, p]) =>
        `SATURATED on ${label}: the server was the limit: ${(p.saturation?.server.reasons ?? []).join("; ")}`,
    );
}

/** The verdict cell of a protocol's column. */
export function verdictCell(p: ProtocolResult): string {
  if (p.status === "invalid") return "INVALID";
  const parts: string[] = [];
  if (p.generator.reliable === false) parts.push("UNRELIABLE");
  if (p.saturation?.server.saturated === true) parts.push("SATURATED");
  return parts.length > 0 ? parts.join(", ") : "ok";
}

/** Whether a verdict row is worth a line: some protocol is not plainly ok. */
export function hasVerdict(p: ProtocolResult): boolean {
  return verdictCell(p) !== "ok";
}

/** The busiest process of a role over the window, as "97%", or null when none was sampled. */
export function busiestCpu(p: ProtocolResult, server: boolean): number | null {
  const shares = (p.saturation?.processes ?? [])
    .filter((process) => (process.role === "server") === server)
    .map((process) => process.cpuShare)
    .filter((share): share is number => share !== null);
  return shares.length > 0 ? Math.max(...shares) * 100 : null;
}
