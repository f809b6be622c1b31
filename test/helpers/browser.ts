import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Page } from "playwright-core";

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

export const CHROMIUM_FLAGS = [
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

export interface CheckOptions {
  /** Where to write a PNG of the page. */
  screenshot?: string;
  /** Only the part of the page from the top of the first of these sections to the bottom of the last. */
  sections?: string[];
  width?: number;
}

export async function checkPageInBrowser(
  html: string,
  options: CheckOptions = {},
): Promise<PageCheck> {
  const executablePath = findChromium();
  if (executablePath === null) throw new Error("no Chromium found (apt-get install chromium)");
  const dir = mkdtempSync(join(tmpdir(), "rtbench-browser-"));
  const file = join(dir, "report.html");
  writeFileSync(file, html);
  const browser = await chromium.launchPersistentContext(join(dir, "profile"), {
    executablePath,
    args: CHROMIUM_FLAGS,
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
    if (options.screenshot) {
      const clip = options.sections ? await sectionsBox(page, options.sections) : undefined;
      await page.screenshot({
        path: options.screenshot,
        fullPage: true,
        ...(clip ? { clip } : {}),
      });
    }
    return { problems, dom };
  } finally {
    await browser.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The box from the top of the first section to the bottom of the last, in page pixels. */
async function sectionsBox(page: Page, ids: string[]) {
  const boxes = [];
  for (const id of ids) {
    const box = await page.locator(`#${id}`).boundingBox();
    if (box === null) throw new Error(`the page has no section #${id}`);
    boxes.push(box);
  }
  const top = Math.min(...boxes.map((b) => b.y));
  const bottom = Math.max(...boxes.map((b) => b.y + b.height));
  const width = page.viewportSize()?.width ?? 1366;
  return { x: 0, y: Math.max(0, top - 16), width, height: bottom - top + 32 };
}
