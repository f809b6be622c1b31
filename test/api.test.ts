import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { packageRoot } from "../src/util/paths.js";

describe("the package as a library", () => {
  it("exposes the programmatic API under its own name", () => {
    // A separate Node process, so the package's "exports" map is what resolves "rtbench".
    const out = execFileSync(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        'const m = await import("rtbench"); console.log(Object.keys(m).sort().join(" "));',
      ],
      { cwd: packageRoot, encoding: "utf8" },
    );
    const names = out.trim().split(" ");
    for (const name of [
      "loadScenario",
      "parseScenario",
      "runScenario",
      "startReferenceServer",
      "compareResults",
      "renderTable",
      "renderMarkdown",
      "renderHtml",
      "renderComparisonHtml",
      "listMetrics",
    ]) {
      expect(names).toContain(name);
    }
  });
});
