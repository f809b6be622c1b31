import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compareResults } from "../src/gate/compare.js";
import { evaluateGate, type GatedResult } from "../src/gate/gate.js";
import { readResultFile } from "../src/gate/result-file.js";
import type { ProtocolResult, RunResult } from "../src/metrics/types.js";
import { NINES_TICKS, niceStep, ninesPosition } from "../src/report/charts/scale.js";
import { transportColor, transportMarker } from "../src/report/charts/svg.js";
import { renderHtml } from "../src/report/html.js";
import { renderComparisonHtml } from "../src/report/html-compare.js";
import { percentileCurve } from "../src/report/series.js";
import { lowestPer, sparkline } from "../src/report/sparkline.js";
import { renderTable } from "../src/report/table.js";
import { transportLabel } from "../src/shared/transports.js";
import { attr, type Element, parsePage, textOf, within } from "./helpers/html.js";
import { makeResult } from "./helpers/result-fixture.js";

/**
 * The HTML report, read back with a standards-conforming HTML parser. The
 * reconnect-storm result is a real run of scenarios/reconnect-storm.yaml
 * (two instances over Redis, instance 1 killed at 20 s, back 5 s later),
 * kept as a fixture so this test costs no run.
 */
const STORM = join(import.meta.dirname, "fixtures", "reconnect-storm.json");
const storm: RunResult = readResultFile(STORM);
const protocols = Object.keys(storm.protocols);

const LINE_CHARTS = [
  "latency-percentiles",
  "latency-p99",
  "latency-p50",
  "deliveries",
  "connected",
  "reconnects",
  "server-cpu",
  "generator-loop-delay",
];
const TIMELINE_CHARTS = LINE_CHARTS.slice(1);
const BAR_CHARTS = ["bytes-per-delivery", "requests-per-delivery", "server-cpu-per-1k"];

const byIdOf = (html: string) => charts(html);

function charts(html: string): Map<string, Element> {
  const page = parsePage(html);
  expect(page.errors).toEqual([]);
  const figures = page.elements.filter((e) => e.tagName === "figure" && attr(e, "data-chart"));
  return new Map(figures.map((f) => [attr(f, "data-chart") as string, f]));
}

/** data-series -> drawn points (line charts) or value (bar charts) inside a figure. */
function seriesIn(figure: Element): Map<string, string> {
  const found = new Map<string, string>();
  for (const g of within(figure, (e) => attr(e, "data-series") !== undefined)) {
    found.set(
      attr(g, "data-series") as string,
      attr(g, "data-points") ?? attr(g, "data-value") ?? "",
    );
  }
  return found;
}

describe("the HTML report of a reconnect-storm run", () => {
  const html = renderHtml(storm);
  const byId = charts(html);

  it("is a real run of every default transport, with a kill and a restart", () => {
    expect(protocols).toEqual(["short-poll", "long-poll", "sse", "websocket"]);
    const faults = storm.protocols.websocket?.faults ?? [];
    expect(faults.map((f) => [f.action, f.instance])).toEqual([["kill", 1]]);
  });

  it("parses cleanly and has every chart, each with data for every transport", () => {
    // Server CPU per delivery is n/a for every transport here: that chart is left out.
    expect([...byId.keys()].sort()).toEqual(
      [...LINE_CHARTS, ...BAR_CHARTS.filter((id) => id !== "server-cpu-per-1k")].sort(),
    );
    for (const id of LINE_CHARTS) {
      const series = seriesIn(byId.get(id) as Element);
      for (const p of protocols) expect(Number(series.get(p)), `${id}: ${p}`).toBeGreaterThan(0);
    }
    for (const id of ["bytes-per-delivery", "requests-per-delivery"]) {
      const series = seriesIn(byId.get(id) as Element);
      for (const p of protocols) expect(series.get(p), `${id}: ${p}`).not.toBe("");
    }
    // A killed instance restarts its CPU counter: that cost is n/a everywhere, and one line says so.
    const leftOut = parsePage(html).elements.find(
      (e) => attr(e, "data-left-out") === "server-cpu-per-1k",
    );
    expect(textOf(leftOut as Element)).toContain(
      "Server CPU per 1,000 deliveries: n/a for every transport (n/a where a server was restarted",
    );
  });

  it("labels both axes with units and gives every chart a legend naming each transport", () => {
    for (const [id, figure] of byId) {
      const legend = within(figure, (e) => e.tagName === "ul" && attr(e, "class") === "legend");
      expect(legend, id).toHaveLength(1);
      const legendText = textOf(legend[0] as Element);
      if (id !== "latency-percentiles" && !BAR_CHARTS.includes(id)) {
        for (const p of protocols) expect(legendText, id).toContain(transportLabel(p));
      }
      const labels = within(figure, (e) => attr(e, "class") === "axis-label").map(textOf);
      expect(labels.length, id).toBeGreaterThanOrEqual(1);
      if (LINE_CHARTS.includes(id)) expect(labels, id).toHaveLength(2);
    }
    const units = [...byId.values()].flatMap((f) =>
      within(f, (e) => attr(e, "class") === "axis-label").map(textOf),
    );
    expect(units).toContain("seconds since ramp-up began");
    expect(units).toContain("percentile (log scale of nines)");
    expect(units.some((u) => /ms/.test(u))).toBe(true);
    expect(units).toContain("CPU, % of one core");
  });

  it("marks when the instance died and came back, and shades the measured window", () => {
    for (const id of TIMELINE_CHARTS) {
      const figure = byId.get(id) as Element;
      const markers = within(figure, (e) => attr(e, "class") === "marker").map(textOf);
      expect(markers, id).toEqual(["kill instance 1", "instance 1 back"]);
      expect(
        within(figure, (e) => attr(e, "class") === "band"),
        id,
      ).not.toHaveLength(0);
    }
  });

  it("tells how long each transport's clients stayed down and the latency tail after", () => {
    const page = parsePage(html);
    const faults = page.elements.find((e) => attr(e, "id") === "faults") as Element;
    const rows = within(faults, (e) => e.tagName === "tr").slice(1);
    expect(rows.map((r) => textOf(within(r, (e) => e.tagName === "th")[0] as Element))).toEqual(
      protocols.map(transportLabel),
    );
    for (const p of protocols) {
      const t = (storm.protocols[p] as ProtocolResult).timeline;
      // The kill at 20 s broke connections in that second, and some clients were down after.
      expect(t?.breaks[20], p).toBeGreaterThan(0);
      expect(Math.min(...(t?.connectedMin.slice(20, 23) ?? [])), p).toBeLessThan(2000);
    }
  });

  it("is one self-contained file that documents the run", () => {
    const page = parsePage(html);
    const tags = new Set(page.elements.map((e) => e.tagName));
    for (const tag of ["script", "link", "img", "iframe", "object", "embed"]) {
      expect(tags.has(tag), tag).toBe(false);
    }
    expect(html).not.toMatch(/(?:src|href)=|url\(|@import/);
    const pre = page.elements.find((e) => e.tagName === "pre") as Element;
    expect(textOf(pre)).toBe(storm.scenario.text);
    const env = textOf(page.elements.find((e) => attr(e, "id") === "environment") as Element);
    for (const fact of [storm.environment.node, storm.scenario.sha256 as string]) {
      expect(env).toContain(fact);
    }
  });
});

describe("the HTML report of an older result", () => {
  it("still draws the distribution and the costs, and says the timeline is missing", () => {
    const byId = charts(renderHtml(makeResult()));
    expect([...byId.keys()]).toEqual(["latency-percentiles", ...BAR_CHARTS]);
    expect(renderHtml(makeResult())).toContain("no per-second timeline");
  });
});

describe("compare --format html", () => {
  it("draws baseline and current curves per transport above the verdicts", () => {
    const current = structuredClone(storm);
    delete current.protocols.sse;
    const comparison = compareResults(storm, current);
    const html = renderComparisonHtml(
      {
        baseline: { file: "base.json", result: storm },
        current: { file: "now.json", result: current },
      },
      comparison,
    );
    const byId = charts(html);
    expect([...byId.keys()]).toEqual(protocols.map((p) => `latency-${p}`));
    for (const p of protocols) {
      const series = seriesIn(byId.get(`latency-${p}`) as Element);
      expect(Number(series.get("baseline"))).toBeGreaterThan(0);
      if (p === "sse") expect(series.has("current")).toBe(false);
      else expect(Number(series.get("current"))).toBeGreaterThan(0);
    }
    const rows = within(
      parsePage(html).elements.find((e) => attr(e, "id") === "verdicts") as Element,
      (e) => e.tagName === "tr",
    );
    expect(rows.length).toBeGreaterThan(1);
  });
});

describe("chart arithmetic", () => {
  it("spaces the nines evenly and picks round tick steps", () => {
    expect(NINES_TICKS.map((t) => t.label)).toEqual(["0%", "90%", "99%", "99.9%", "99.99%"]);
    for (const [p, x] of [
      [0, 0],
      [90, 1],
      [99, 2],
      [99.9, 3],
      [99.99, 4],
    ] as const) {
      expect(ninesPosition(p)).toBeCloseTo(x, 9);
    }
    expect([niceStep(10, 5), niceStep(47, 5), niceStep(0.3, 5), niceStep(7000, 8)]).toEqual([
      2, 10, 0.1, 1000,
    ]);
  });

  it("draws a percentile curve that never goes down, from min to the 99.99th", () => {
    const latency = (storm.protocols.websocket as ProtocolResult).latency;
    const curve = percentileCurve(latency.hdr);
    expect(curve[0]?.[0]).toBe(0);
    expect(curve.at(-1)?.[0]).toBeCloseTo(4, 9);
    for (let i = 1; i < curve.length; i++) {
      expect(curve[i]?.[1]).toBeGreaterThanOrEqual(curve[i - 1]?.[1] as number);
    }
    expect(curve.at(-1)?.[1]).toBeLessThanOrEqual(latency.max);
  });
});

describe("the terminal's timeline lines", () => {
  it("scale clients to '_' none .. '#' all, keeping each group's lowest", () => {
    expect(sparkline([0, 500, 1000, null, 999, 1], 1000)).toBe("_=# *.");
    expect(lowestPer([5, 4, 9, 9, 1], 2)).toEqual([4, 9, 1]);
  });

  it("show the outage under the table when a fault fired, and only then", () => {
    const lines = renderTable(storm).split("\n");
    const at = lines.findIndex((l) => l.startsWith("clients connected, 1 char = 1 s"));
    expect(at).toBeGreaterThan(0);
    const marks = lines.find((l, i) => i > at && /^\s+v/.test(l)) as string;
    expect(marks.indexOf("v") - 13).toBe(20);
    for (const p of protocols) {
      const line = lines.find((l) => l.startsWith(transportLabel(p))) as string;
      expect(line.slice(13, 13 + 10)).toMatch(/^[_.:\-=+*]/); // ramp-up: not everyone yet
      expect(line.length).toBeLessThanOrEqual(80);
    }
    expect(renderTable(makeResult())).not.toContain("clients connected, 1 char");
  });
});

describe("the HTML report says what the terminal said", () => {
  it("shows the gate's verdict: thresholds and the baseline comparison", () => {
    const gated: GatedResult = structuredClone(storm);
    const { record } = evaluateGate(gated, {
      thresholds: { "*.lost": "== 0", "websocket.latency.p99": "< 0.001ms" },
      baseline: { file: "results/baselines/storm.json", result: storm },
    });
    gated.gate = record;
    const page = parsePage(renderHtml(gated));
    const gate = page.elements.find((e) => attr(e, "id") === "gate") as Element;
    const text = textOf(gate);
    expect(text).toContain("gate FAILED");
    expect(text).toMatch(/Thresholds: \d+ of \d+ passed/);
    expect(text).toContain("websocket.latency.p99");
    expect(text).toContain("FAIL");
    expect(text).toContain("Against the baseline results/baselines/storm.json");
    expect(text).toMatch(/no regression in \d+ judged metrics/);
    // A result without a gate has no such section.
    expect(renderHtml(storm)).not.toContain('id="gate"');
  });

  it("says when a flag overrode the scenario file (--duration, --protocols)", () => {
    const shortened: RunResult = structuredClone(storm);
    shortened.setup.durationMs = 5000;
    shortened.scenario.text = `${storm.scenario.text}\nprotocols: [short-poll, long-poll, sse, websocket]\n`;
    delete shortened.protocols.sse;
    const env = textOf(
      parsePage(renderHtml(shortened)).elements.find(
        (e) => attr(e, "id") === "environment",
      ) as Element,
    );
    expect(env).toContain(
      "overridden by a flag: duration: 5s in this run, 25s in the file (--duration)",
    );
    expect(env).toContain("protocols: short-poll, long-poll, websocket in this run");
    expect(renderHtml(storm)).not.toContain("overridden by a flag");
  });

  it("tells the two blues apart by marker, on the lines and in the legend", () => {
    const figure = byIdOf(renderHtml(storm)).get("latency-p99") as Element;
    const shapesOf = (key: string) =>
      new Set(
        within(figure, (e) => attr(e, "data-series") === key).flatMap((g) =>
          within(
            g,
            (e) => ["rect", "circle", "path"].includes(e.tagName) && attr(e, "fill") !== "none",
          ).map((e) => e.tagName),
        ),
      );
    expect(transportColor("long-poll")).not.toBe(transportColor("websocket"));
    expect(transportMarker("long-poll")).toBe("square");
    expect(transportMarker("websocket")).toBe("cross");
    expect(shapesOf("long-poll")).toContain("rect");
    expect(shapesOf("websocket")).not.toContain("rect");
    const legend = within(figure, (e) => attr(e, "class") === "legend")[0] as Element;
    expect(within(legend, (e) => e.tagName === "rect").length).toBeGreaterThan(0);
  });
});

describe("the deliveries chart", () => {
  it("counts every delivery, with the expected ones dashed beside them", () => {
    const withReceived: RunResult = structuredClone(storm);
    for (const p of Object.values(withReceived.protocols)) {
      const t = p.timeline as NonNullable<ProtocolResult["timeline"]>;
      t.received = t.deliveries.map((d) => d + 7);
    }
    const figure = byIdOf(renderHtml(withReceived)).get("deliveries") as Element;
    const lines = within(figure, (e) => attr(e, "data-series") === "websocket");
    expect(lines).toHaveLength(2);
    const dashed = lines.filter(
      (g) =>
        within(g, (e) => e.tagName === "path" && attr(e, "stroke-dasharray") !== undefined).length >
        0,
    );
    expect(dashed).toHaveLength(1);
    const legend = textOf(within(figure, (e) => attr(e, "class") === "legend")[0] as Element);
    expect(legend).toContain("every delivery");
    expect(legend).toContain("expected (counted in the window)");
    // An older result without `received` keeps the one line per transport it had.
    const old = byIdOf(renderHtml(storm)).get("deliveries") as Element;
    expect(within(old, (e) => attr(e, "data-series") === "websocket")).toHaveLength(1);
  });
});
