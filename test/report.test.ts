import { describe, expect, it } from "vitest";
import { compareResults } from "../src/gate/compare.js";
import { medianResult } from "../src/gate/repeat.js";
import { evaluateThresholds } from "../src/gate/thresholds.js";
import { renderHtml } from "../src/report/html.js";
import {
  renderComparisonMarkdown,
  renderMarkdown,
  renderThresholdMarkdown,
} from "../src/report/markdown.js";
import { formatNumber } from "../src/report/numbers.js";
import { reportRows } from "../src/report/rows.js";
import { renderComparisonTable, renderTable, renderThresholdTable } from "../src/report/table.js";
import { regressionLines } from "../src/report/verdicts.js";
import { latencySamples, makeResult } from "./helpers/result-fixture.js";

const ROW_LABELS = [
  "latency p50 ms",
  "latency p90 ms",
  "latency p99 ms",
  "latency max ms",
  "latency from send p99 ms",
  "connect p50 ms",
  "connect p99 ms",
  "delivered / expected",
  "lost",
  "duplicates",
  "reordered",
  "publish failed",
  "bytes per delivery",
  "requests per delivery",
  "empty polls %",
  "server CPU s / 1k deliveries",
  "server RSS / connection KB",
  "generator loop delay p99 ms",
];

// Large numbers everywhere, to stress the column widths.
const big = makeResult({
  protocols: {
    "short-poll": {
      overrides: { delivered: 1_234_567, expected: 1_234_999, bytesPerDelivery: 123_456.789 },
    },
    "long-poll": { latencyMs: latencySamples(3, 1000, 12_345) },
    sse: {
      overrides: { server: { cpuSecondsPer1kDeliveries: null, rssBytesPerConnection: null } },
    },
    websocket: {},
  },
});

describe("the measures' rows", () => {
  // Each run of labels stood together in the table before its measure became a row of the
  // registry (src/measures/); a measure may follow an earlier one's row (publish-ack's).
  const runs = [
    [
      "publish failed",
      "publish acks late",
      "publish never acked",
      "publish ack p99 ms",
      "sends behind schedule ms",
    ],
    [
      "empty polls %",
      "proxy CPU s / 1k deliveries",
      "proxy RSS / connection KB",
      "server CPU s / 1k deliveries",
      "server RSS / connection KB",
      "generator loop delay p99 ms",
    ],
    [
      "never reconnected",
      "stall noticed p50 ms",
      "stall noticed max ms",
      "stall noticed (clients)",
      "server noticed p50 ms",
      "server noticed max ms",
      "server noticed (clients)",
      "peak reconnects / s",
    ],
    [
      "not recovered (restart)",
      "fast stuck >100ms",
      "fast worst ms",
      "slow delivered",
      "cut by server / slow",
      "  first cut s",
      "server RSS growth / slow KB",
      "churn leaves",
    ],
  ];

  it.each(runs)("keep their places after %s", (...run) => {
    const labels = reportRows().map((row) => row.label);
    const at = labels.indexOf(run[0] as string);
    expect(labels.slice(at, at + run.length)).toEqual(run);
  });
});

describe("renderTable", () => {
  const text = renderTable(big);
  const lines = text.split("\n");

  it("has every protocol column and every row label", () => {
    for (const column of ["short poll", "long poll", "SSE", "WebSocket"])
      expect(lines[1]).toContain(column);
    for (const label of ROW_LABELS) expect(lines.some((l) => l.startsWith(label))).toBe(true);
    expect(text).toContain("fixture: 100 clients, 20 msg/s, 30s, broker memory");
  });

  it("fits 80 columns and has no colour codes by default", () => {
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(80);
    expect(text).not.toContain("\u001b[");
    expect(text).not.toContain("…"); // nothing truncated
  });

  it("shows n/a where a metric does not apply", () => {
    const rss = lines.find((l) => l.startsWith("server RSS / connection KB")) ?? "";
    // short poll, long poll: numbers; SSE: n/a; WebSocket: number.
    expect(rss.split(/\s{2,}/).slice(1)).toEqual(["8.89", "8.89", "n/a", "8.89"]);
    const empty = lines.find((l) => l.startsWith("empty polls %")) ?? "";
    expect(empty.split(/\s{2,}/).slice(1)).toEqual(["30", "30", "n/a", "n/a"]);
  });

  it("explains n/a under every table that shows one, and only then", () => {
    const legend = /^n\/a: does not apply to that transport/m;
    expect(text).toMatch(legend);
    expect(renderMarkdown(big)).toMatch(/<sub>n\/a: does not apply/);
    expect(renderHtml(big)).toMatch(/<p class="meta">n\/a: does not apply/);
    const noNa = makeResult({ protocols: { "short-poll": {}, websocket: {} } });
    for (const p of Object.values(noNa.protocols)) p.tcpConnections = 100;
    const ws = noNa.protocols.websocket;
    if (ws) ws.emptyPollShare = 0;
    expect(renderTable(noNa)).not.toMatch(legend);
  });

  it("never prints a number in exponent form", () => {
    const result = makeResult({
      protocols: { websocket: { latencyMs: [...latencySamples(4, 500, 2), 1004, 999.6] } },
    });
    // The page's style sheet has colours like #D55E00; only what it shows counts.
    const page = renderHtml(result).replace(/<style>[\s\S]*?<\/style>/g, "");
    const shown = [renderTable(result), renderMarkdown(result), page].join("\n");
    expect(shown).not.toMatch(/\d[eE][+-]?\d/);
    expect(renderTable(result)).toMatch(/latency max ms\s+1004$/m);
  });

  it("shows only the protocols that ran", () => {
    const one = renderTable(makeResult({ protocols: { sse: {} } }));
    expect(one).toContain("SSE");
    expect(one).not.toContain("WebSocket");
  });

  it("prints an unreliable banner and a partial marker", () => {
    const result = makeResult({ overrides: { reliable: false, status: "partial" } });
    const ws = result.protocols.websocket;
    if (ws) ws.generator = { ...ws.generator, reliable: false, eventLoopDelayP99: 87.5 };
    const shown = renderTable(result);
    expect(shown).toContain("PARTIAL RESULT (interrupted)");
    // The banner is word-wrapped to 80 columns; unwrap it to read the sentence.
    expect(shown.replace(/\n\s*/g, " ")).toContain(
      "UNRELIABLE: generator event-loop delay p99 87.5 ms > limit 50 ms on WebSocket; numbers may be distorted",
    );
    for (const line of shown.split("\n")) expect(line.length).toBeLessThanOrEqual(80);
    expect(renderTable(makeResult())).not.toContain("UNRELIABLE");
    expect(renderMarkdown(result)).toContain(
      "> **UNRELIABLE: generator event-loop delay p99 87.5 ms",
    );
  });

  it("adds ANSI colour only when asked", () => {
    expect(renderTable(big, { color: true })).toContain("\u001b[");
  });
});

describe("formatNumber", () => {
  it.each([
    [null, "n/a"],
    [0, "0"],
    [0.012345, "0.0123"],
    [1.2, "1.2"],
    [123.456, "123"],
    [4567, "4567"],
    [12_345, "12.3k"],
    [1_234_567, "1.23M"],
    [-2.5, "-2.5"],
    // Rounding to 3 digits must not switch to exponent form.
    [999.6, "1000"],
    [1004, "1004"],
    [1004.4, "1004"],
    [9999.7, "10k"],
    [99_960, "100k"],
    [999_960, "1M"],
    [0.000_000_123_4, "0.000000123"],
  ])("%s -> %s", (value, text) => {
    expect(formatNumber(value)).toBe(text);
  });
});

describe("threshold and comparison reports", () => {
  const result = makeResult({ protocols: { websocket: {}, sse: { overrides: { lost: 2 } } } });
  const outcomes = evaluateThresholds(
    { "*.lost": "== 0", "websocket.latency.p99": "< 10s" },
    result,
  );

  it("renders threshold outcomes as a table and as Markdown", () => {
    const table = renderThresholdTable(outcomes);
    expect(table).toMatch(/sse\.lost\s+== 0\s+2\s+FAIL/);
    expect(table).toMatch(/websocket\.latency\.p99\s+< 10s\s+[\d.]+ ms\s+pass/);
    expect(table).toContain("1 of 3 thresholds failed");
    const md = renderThresholdMarkdown(outcomes);
    expect(md).toContain("| `sse.lost` | `== 0` | 2 | ❌ FAIL |");
  });

  it("renders a comparison with the regressed metric, its evidence and a legend", () => {
    const fast = latencySamples(4, 2000, 2);
    const baseline = makeResult({ protocols: { websocket: { latencyMs: fast } } });
    const current = makeResult({
      protocols: { websocket: { latencyMs: fast.map((v) => v * 10) } },
    });
    const comparison = compareResults(baseline, current);
    const table = renderComparisonTable(comparison);
    expect(table).toMatch(
      /websocket\.latency\.p50\s+[\d.]+ ms\s+[\d.]+ ms\s+\+\d+%\s+allows \+[\d.]+ ms\s+REGRESSED/,
    );
    expect(table).toMatch(/websocket\.lost\s+0\s+0\s+0%\s+exact\s+ok/);
    expect(table).toMatch(/websocket\.latency\.max\s+.*not judged\s+worse/);
    expect(table).toMatch(/websocket\.latency\.p99\s+.*needs --repeat\s+worse/);
    expect(table).toMatch(/^1 regressed in 10 judged metrics/m);
    expect(table).toContain("evidence: exact = any increase regresses");
    // Rows neither judged nor descriptive appear with `all` only.
    expect(table).not.toContain("websocket.latency.p95");
    expect(renderComparisonTable(comparison, { all: true })).toContain("websocket.latency.p95");
    const md = renderComparisonMarkdown(comparison);
    expect(md).toMatch(
      /\| `websocket\.latency\.p50` \| [\d.]+ ms \| [\d.]+ ms \| \+\d+% \| allows \+[\d.]+ ms \| ❌ \*\*REGRESSED\*\* \|/,
    );
  });

  it("shows a test's p-value and interval as evidence, and names it in the failure lines", () => {
    const runsOf = (typical: number, seed: number) =>
      [0, 1, 2].map((i) =>
        makeResult({
          protocols: { websocket: { latencyMs: latencySamples(seed + i, 1000, typical) } },
        }),
      );
    const asRepeat = (runs: ReturnType<typeof runsOf>) => {
      const { result, spread } = medianResult(runs);
      return { ...result, repeat: { runs: 3, files: [], spread } };
    };
    const comparison = compareResults(asRepeat(runsOf(2, 1)), asRepeat(runsOf(20, 5)));
    expect(renderComparisonTable(comparison)).toMatch(
      /websocket\.latency\.p50\s+.*p=0\.05 x[\d.]+ \[[\d.]+-[\d.]+\]\s+REGRESSED/,
    );
    const lines = regressionLines(comparison.regressions);
    expect(lines[0]).toMatch(
      /^websocket\.latency\.p50: [\d.]+ ms -> [\d.]+ ms \(\+\d+%; p=0\.05 x/,
    );
  });
});

describe("HTML report", () => {
  it("holds every protocol column and row, escapes text and shows the banners", () => {
    const result = makeResult({
      overrides: {
        reliable: false,
        scenario: { name: "<chat & co>", file: null, sha256: null },
      },
    });
    const html = renderHtml(result);
    expect(html).toMatch(/^<!doctype html>/);
    for (const label of ["short poll", "long poll", "SSE", "WebSocket", ...ROW_LABELS]) {
      expect(html).toContain(`>${label.replace(/&/g, "&amp;")}<`);
    }
    expect(html).toContain("&lt;chat &amp; co&gt;");
    expect(html).not.toContain("<chat");
    expect(html).toMatch(/class="loud">UNRELIABLE/);
  });
});

describe("unreliable banner", () => {
  it("says when a generator process died, not that the event loop was slow", () => {
    const base = makeResult({ protocols: { websocket: {} } });
    const ws = base.protocols.websocket as NonNullable<typeof base.protocols.websocket>;
    const result = {
      ...base,
      reliable: false,
      protocols: {
        websocket: { ...ws, generator: { ...ws.generator, reliable: false, missingShards: 1 } },
      },
    };
    const table = renderTable(result);
    expect(table).toContain(
      "UNRELIABLE: 1 generator process(es) died or did not report on WebSocket",
    );
    expect(table).not.toContain("event-loop delay");
  });
});
