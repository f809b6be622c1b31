import { orderRunKeys, runLabel } from "../metrics/run-keys.js";
import type { ProtocolResult, RunResult } from "../metrics/types.js";
import type { ProtocolName } from "../shared/transports.js";
import { clockLines, lostWorkerLines } from "./clock-report.js";
import { formatDurationCompact, formatNumber, NA } from "./numbers.js";
import { rowsFor } from "./rows.js";
import { invalidLines, saturatedLines, unreliableLines } from "./verdict-lines.js";

/**
 * The lines around the main table that the table, Markdown and HTML
 * reporters share: header, banners, legend and notes. Pure, no I/O.
 */

/**
 * Under a table with an `n/a` cell: what it means, so a reader does not take
 * it for a failure. The reasons are the ones the rows above can have.
 */
export function legendLines(result: RunResult): string[] {
  const protocols = presentProtocols(result);
  const hasNa = rowsFor(result).some((row) =>
    protocols.some((p) => row.cell(result.protocols[p] as ProtocolResult) === NA),
  );
  if (!hasNa) return [];
  return [
    "n/a: does not apply to that transport (empty polls on a stream) or was not measured: no samples, or server cost with an external target, after a restart, or RSS under 500 connections",
  ];
}

/** Notes the run left for the reader (fallbacks, missing shards), one line each. */
export function noteLines(result: RunResult): string[] {
  return result.setup.notes.map((note) => `note: ${note}`);
}

/** Runs present in the result (protocols, or protocol@variant), in the canonical column order. */
export function presentProtocols(result: RunResult): ProtocolName[] {
  return orderRunKeys(Object.keys(result.protocols));
}

export function headerLine(result: RunResult): string {
  const s = result.setup;
  const broker =
    s.broker === "external" ? `target ${s.target?.join(", ") ?? "?"}` : `broker ${s.broker}`;
  const instances = s.instances > 1 ? ` x${s.instances}` : "";
  return (
    `${result.scenario.name}: ${formatNumber(s.clients)} clients, ${formatNumber(s.ratePerSec)} msg/s, ` +
    `${formatDurationCompact(s.durationMs)}, ${broker}${instances}`
  );
}

/**
 * The loud lines: unreliable, invalid and partial results are never shown as
 * if they were sound, and a saturated server is said as a finding.
 */
export function bannerLines(result: RunResult): string[] {
  const lines: string[] = [];
  const lost = lostWorkerLines(result);
  if (lost.length > 0) lines.push(...lost);
  else if (result.status === "partial") lines.push("PARTIAL RESULT (interrupted)");
  if (result.status === "failed")
    lines.push("FAILED RUN: numbers describe what was measured before the failure");
  lines.push(...invalidLines(result));
  if (!result.reliable) lines.push(...(unreliableLines(result) ?? [unreliableLine(result)]));
  lines.push(...clockLines(result));
  lines.push(...saturatedLines(result));
  return lines;
}

function unreliableLine(result: RunResult): string {
  const unhealthy = presentProtocols(result).filter(
    (p) => result.protocols[p]?.generator.reliable === false,
  );
  if (unhealthy.length === 0) {
    return "UNRELIABLE: the generator was overloaded; numbers may be distorted";
  }
  let worstDelayMs = 0;
  let limitMs: number | undefined;
  let worstLagMs = 0;
  for (const p of unhealthy) {
    const g = (result.protocols[p] as ProtocolResult).generator;
    worstDelayMs = Math.max(worstDelayMs, g.eventLoopDelayP99);
    worstLagMs = Math.max(worstLagMs, g.publisherMaxLagMs ?? 0);
    if (g.eventLoopDelayLimitMs !== undefined) limitMs = g.eventLoopDelayLimitMs;
  }
  const on = unhealthy.map((p) => runLabel(p)).join(", ");
  const missingShards = unhealthy.reduce(
    (n, p) => n + ((result.protocols[p] as ProtocolResult).generator.missingShards ?? 0),
    0,
  );
  if (missingShards > 0) {
    return `UNRELIABLE: ${missingShards} generator process(es) died or did not report on ${on}; their clients are missing from the numbers`;
  }
  if (limitMs !== undefined && worstDelayMs <= limitMs && worstLagMs > limitMs) {
    return `UNRELIABLE: publisher fell up to ${formatNumber(worstLagMs)} ms behind schedule > limit ${formatNumber(limitMs)} ms on ${on}; numbers may be distorted`;
  }
  const limit = limitMs === undefined ? "" : ` > limit ${formatNumber(limitMs)} ms`;
  return `UNRELIABLE: generator event-loop delay p99 ${formatNumber(worstDelayMs)} ms${limit} on ${on}; numbers may be distorted`;
}

/** Greedy word wrap, so banners fit narrow CI logs. */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line === "") line = word;
    else if (line.length + 1 + word.length <= width) line += ` ${word}`;
    else {
      lines.push(line);
      line = `  ${word}`;
    }
  }
  if (line !== "") lines.push(line);
  return lines;
}
