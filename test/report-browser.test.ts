import { mkdtempSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compareResults } from "../src/gate/compare.js";
import { readResultFile } from "../src/gate/result-file.js";
import { renderHtml } from "../src/report/html.js";
import { renderComparisonHtml } from "../src/report/html-compare.js";
import { checkPageInBrowser, findChromium } from "./helpers/browser.js";

/**
 * The HTML reports in a real browser: Debian's headless Chromium opens the
 * page of a real run (the reconnect-storm fixture), draws it, and must
 * report no console error and no request beyond the file itself. Without a
 * Chromium this is skipped and says why, unless RTBENCH_REQUIRE_CHROMIUM=1
 * (CI), where a missing browser fails.
 */
const chromium = findChromium();
const required = process.env.RTBENCH_REQUIRE_CHROMIUM === "1";
const skip = chromium === null && !required;
const title = skip
  ? "HTML reports in headless Chromium (skipped: no Chromium found; apt-get install chromium, or RTBENCH_REQUIRE_CHROMIUM=1 to fail instead)"
  : "HTML reports in headless Chromium";

const storm = readResultFile(join(import.meta.dirname, "fixtures", "reconnect-storm.json"));

(skip ? describe.skip : describe)(title, () => {
  it("shows a real run's report with every chart, no console error and no request", async () => {
    if (chromium === null)
      throw new Error("RTBENCH_REQUIRE_CHROMIUM=1, but no Chromium is installed");
    const screenshot = join(mkdtempSync(join(tmpdir(), "rtbench-shot-")), "report.png");
    const { problems, dom } = await checkPageInBrowser(renderHtml(storm), { screenshot });
    expect(problems).toEqual([]);
    expect(dom.title).toBe(
      "rtbench: reconnect-storm: 2000 clients, 20 msg/s, 25s, broker redis x2",
    );
    expect(dom.charts).toEqual([
      "latency-percentiles",
      "latency-p99",
      "latency-p50",
      "deliveries",
      "connected",
      "reconnects",
      "server-cpu",
      "generator-loop-delay",
      "bytes-per-delivery",
      // server-cpu-per-1k is n/a for every transport of this run: left out.
      "requests-per-delivery",
    ]);
    // A page of that many charts is not a blank PNG.
    expect(statSync(screenshot).size).toBeGreaterThan(100_000);
  });

  it("shows the comparison page too", async () => {
    const html = renderComparisonHtml(
      { baseline: { file: "a.json", result: storm }, current: { file: "b.json", result: storm } },
      compareResults(storm, storm),
    );
    const { problems, dom } = await checkPageInBrowser(html);
    expect(problems).toEqual([]);
    expect(dom.charts).toHaveLength(4);
  });
});
