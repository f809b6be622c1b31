import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CliOutcome, runRtbench } from "./helpers/cli.js";

// Runs the real bin (compiled dist/, built by `npm test`) as a user would.
function rtbench(...args: string[]): Promise<CliOutcome> {
  return runRtbench(args, { timeoutMs: 30_000 });
}

describe("rtbench validate", () => {
  let dir: string;
  let bad: string;
  let good: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "rtbench-validate-"));
    bad = join(dir, "bad.yaml");
    good = join(dir, "good.yaml");
    await writeFile(bad, "clients:\n  count: many\nprotocols: [sse, websockets]\n");
    await writeFile(
      good,
      "protocols: [sse, websocket]\nclients: { count: 50, channels: 5 }\nduration: 2m\n",
    );
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("exits 2 naming the file and every bad field, without a stack trace", async () => {
    const { code, stdout, stderr } = await rtbench("validate", bad);
    expect(code).toBe(2);
    expect(stdout).toBe("");
    expect(stderr).toBe(
      [
        `error: ${bad} is invalid (2 problems)`,
        '  clients.count: expected a positive integer, found "many"',
        '  protocols[1]: expected one of short-poll, long-poll, sse, sse-h2, websocket, found "websockets"',
        "",
      ].join("\n"),
    );
    expect(stderr).not.toMatch(/\n\s+at /);
  });

  it("exits 0 and summarises a good file", async () => {
    const { code, stdout, stderr } = await rtbench("validate", good);
    expect(code).toBe(0);
    expect(stderr).toBe("");
    expect(stdout).toBe(`ok  ${good} (good: 2 protocols, 50 clients, 2m)\n`);
  });

  it("checks every file before failing, including a missing one", async () => {
    const missing = join(dir, "missing.yaml");
    const { code, stdout, stderr } = await rtbench("validate", good, missing, bad);
    expect(code).toBe(2);
    expect(stdout).toContain(`ok  ${good}`);
    expect(stderr).toContain(`error: cannot read ${missing}: no such file`);
    expect(stderr).toContain(`error: ${bad} is invalid (2 problems)`);
  });

  it("validates the committed examples", async () => {
    const { code, stdout } = await rtbench(
      "validate",
      "scenarios/quickstart.yaml",
      "scenarios/chat.yaml",
    );
    expect(code).toBe(0);
    expect(stdout).toMatch(
      /^ok {2}scenarios\/quickstart\.yaml \(quickstart: 4 protocols, 200 clients, \d+s\)$/m,
    );
    expect(stdout).toMatch(/^ok {2}scenarios\/chat\.yaml \(chat: /m);
  });
});
