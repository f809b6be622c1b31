import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

/**
 * Opens an HTML report in the machine's own headless Chromium (Debian's
 * `chromium` package; playwright-core downloads no browser), takes a
 * screenshot, and says what went wrong in the page: console errors,
 * uncaught exceptions and requests that failed or left the file.
 */
const CANDIDATES = [
  process.env.RTBENCH_CHROMIUM,
  "/usr/bin/chromium",
  "/usr/bin/chromium-browser",
  "/usr/bin/google-chrome",
];

const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

/** The Chromium executable to use, or null when none is installed. */
export function findChromium(): string | null {
  for (const path of CANDIDATES) if (path && existsSync(path)) return path;
  return null;
}

export interface PageCheck {
  /** Console errors, page exceptions and failed or outside requests, one line each. */
  problems: string[];
  /** What the page's DOM says once loaded (evaluated in the browser). */
  dom: { charts: string[]; title: string; svgs: number };
}

export async function checkPageInBrowser(
  html: string,
  options: { screenshot?: string; width?: number } = {},
): Promise<PageCheck> {
  const executablePath = findChromium();
  if (executablePath === null) throw new Error("no Chromium found (apt-get install chromium)");
  const dir = mkdtempSync(join(tmpdir(), "rtbench-browser-"));
  const file = join(dir, "report.html");
  writeFileSync(file, html);
  const browser = await chromium.launchPersistentContext(join(dir, "profile"), {
    executablePath,
    args: FLAGS,
    headless: true,
    viewport: { width: options.width ?? 1366, height: 900 },
  });
  const problems: string[] = [];
  try {
    const page = await browser.newPage();
    page.on("console", (m) => {
      if (m.type() === "error") problems.push(`console error: ${m.text()}`);
    });
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    page.on("requestfailed", (r) => problems.push(`request failed: ${r.url()}`));
    page.on("request", (r) => {
      // The page is one file: anything else it asks for is a defect, even if it would load.
      if (r.url() !== `file://${file}`) problems.push(`request outside the page: ${r.url()}`);
    });
    await page.goto(`file://${file}`, { waitUntil: "load" });
    // A string, evaluated in the page: this package compiles without the DOM's types.
    const dom = (await page.evaluate(`({
      charts: [...document.querySelectorAll("figure[data-chart]")].map((f) => f.dataset.chart),
      title: document.title,
      svgs: document.querySelectorAll("svg").length,
    })`)) as PageCheck["dom"];
    if (options.screenshot) await page.screenshot({ path: options.screenshot, fullPage: true });
    return { problems, dom };
  } finally {
    await browser.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
