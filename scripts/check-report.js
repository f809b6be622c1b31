#!/usr/bin/env node
// Opens the HTML report of a result in headless Chromium and fails on any
// console error, page error or request the page makes (it must be one
// self-contained file). Writes a screenshot when asked. Needs dist/
// (`npm run check:report` builds it) and a Chromium (Debian: apt-get install
// chromium; or RTBENCH_CHROMIUM=/path/to/chrome).
//
//   npm run check:report -- [RESULT.json] [--screenshot FILE.png] [--sections id,id] [--width PX]
//
// Without a result it checks test/fixtures/reconnect-storm.json, a real run.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { readResultFile } from "../dist/src/gate/result-file.js";
import { renderHtml } from "../dist/src/report/html.js";
import { checkPageInBrowser, findChromium } from "../dist/test/helpers/browser.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const option = (name) => {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const [, value] = args.splice(i, 2);
  return value;
};
const screenshot = option("--screenshot");
const sections = option("--sections")?.split(",");
const width = Number(option("--width") ?? 1366);
const file = args[0] ?? join(root, "test", "fixtures", "reconnect-storm.json");

if (findChromium() === null) {
  process.stderr.write(
    "check:report: no Chromium found (apt-get install chromium, or set RTBENCH_CHROMIUM)\n",
  );
  process.exit(process.env.RTBENCH_REQUIRE_CHROMIUM === "1" ? 1 : 0);
}
const html = file.endsWith(".html") ? readFileSync(file, "utf8") : renderHtml(readResultFile(file));
const { problems, dom } = await checkPageInBrowser(html, { screenshot, sections, width });
process.stdout.write(`${file}: ${dom.charts.length} charts (${dom.charts.join(", ")})\n`);
if (screenshot) process.stdout.write(`screenshot: ${screenshot}\n`);
for (const problem of problems) process.stderr.write(`problem: ${problem}\n`);
process.exit(problems.length === 0 ? 0 : 1);
