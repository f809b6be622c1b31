import type { ProtocolTimeline } from "../metrics/protocol-timeline.js";
import { runLabel } from "../metrics/run-keys.js";
import type { RunResult } from "../metrics/types.js";
import { escapeXml } from "./charts/svg.js";
import { formatCount, formatNumber, histogramCell } from "./numbers.js";
import { faultBucket, faultMarkers, type Measured, withTimeline } from "./series.js";

/**
 * What the faults did to each transport, in numbers beside the charts: how
 * many clients went down, for how many seconds some stayed down, how long
 * reconnecting took, and the worst latency in the seconds that followed.
 */
const AFTER_SECONDS = 10;

export interface FaultImpact {
  protocol: string;
  /** Clients connected just before the first fault, minus the fewest after it. */
  clientsDown: number;
  /** Seconds from the first fault on in which fewer clients were connected than before it. */
  secondsDown: number;
  /** The worst one-second latency p99 in the seconds after the first fault, ms. */
  worstP99AfterMs: number | null;
}

/** The impact of the first fault on one protocol's run, from its timeline. */
export function faultImpact(m: Measured, firstFaultMs: number): FaultImpact {
  const t: ProtocolTimeline = m.timeline;
  const at = Math.min(t.buckets - 1, faultBucket(firstFaultMs, t.bucketMs));
  const before = at > 0 ? (t.connected[at - 1] ?? 0) : (t.connected[at] ?? 0);
  const after = t.connectedMin.slice(at);
  const fewest = after.length > 0 ? Math.min(...after) : before;
  const worst = t.latencyP99.slice(at, at + AFTER_SECONDS).filter((v): v is number => v !== null);
  return {
    protocol: m.protocol,
    clientsDown: Math.max(0, before - fewest),
    secondsDown: after.filter((n) => n < before).length,
    worstP99AfterMs: worst.length > 0 ? Math.max(...worst) : null,
  };
}

export function faultSection(result: RunResult): string {
  const markers = faultMarkers(result);
  const measured = withTimeline(result);
  const first = markers[0];
  if (first === undefined || measured.length === 0) return "";
  const rows = measured.map((m) => {
    const impact = faultImpact(m, first.x * 1000);
    const p = m.result;
    const cells = [
      formatCount(impact.clientsDown),
      formatCount(impact.secondsDown),
      formatCount(p.breaks),
      histogramCell(p.reconnect, "p50"),
      histogramCell(p.reconnect, "max"),
      histogramCell(p.outage, "p99"),
      formatNumber(impact.worstP99AfterMs),
      formatCount(p.neverReconnected),
      formatCount(p.lost),
    ];
    return `<tr><th scope="row">${escapeXml(runLabel(m.protocol))}</th>${cells.map((c) => `<td class="n">${escapeXml(c)}</td>`).join("")}</tr>`;
  });
  const head = [
    "transport",
    "clients down",
    "s with clients down",
    "breaks",
    "reconnect p50 ms",
    "reconnect max ms",
    "outage p99 ms",
    `worst 1-s p99 after, ms`,
    "never reconnected",
    "lost",
  ];
  const when = markers.map((m) => `${m.label} at ${formatNumber(m.x)} s`).join(", ");
  const about = `${when} (seconds since ramp-up began; the same times in every transport's run). "s with clients down": seconds from the first fault on in which fewer clients were connected than before it; "worst 1-s p99 after": the highest per-second latency p99 in the ${AFTER_SECONDS} s from the first fault.`;
  return `<section id="faults"><h2>Faults</h2><p>${escapeXml(about)}</p><div class="scroll"><table><thead><tr>${head.map((h, i) => `<th${i > 0 ? ' class="n"' : ""}>${escapeXml(h)}</th>`).join("")}</tr></thead><tbody>${rows.join("")}</tbody></table></div></section>`;
}
