/**
 * What a user meets at the edges of the CLI: output piped into `head`, a
 * bundled scenario by name from any folder, `rtbench init` in an empty
 * project, and which file an error in a multi-file run belongs to. The real
 * bin in its own process each time.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parseScenario } from "../src/scenario/load.js";
import { freePort } from "../src/util/net.js";
import { packageRoot } from "../src/util/paths.js";
import { RTBENCH_BIN, runRtbench } from "./helpers/cli.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "rtbench-polish-"));
});

describe("output into a closed pipe", () => {
  it("`rtbench --help | head -5` ten times: no stack, no error", () => {
    for (let i = 0; i < 10; i++) {
      const run = spawnSync(
        "/bin/sh",
        ["-c", `"${process.execPath}" "${RTBENCH_BIN}" --help | head -5`],
        {
          encoding: "utf8",
        },
      );
      expect(run.stdout.split("\n")).toHaveLength(6);
      expect(run.stderr).toBe("");
    }
  });

  it("a reader that is gone before the first byte: a quiet exit 0", async () => {
    const child = spawn(process.execPath, [RTBENCH_BIN, "metrics"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    // Close our end at once: every write of the child meets EPIPE.
    child.stdout.destroy();
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const code = await new Promise((resolve) => child.on("close", resolve));
    expect(stderr).toBe("");
    expect(code).toBe(0);
  });
});

describe("bundled scenarios by name", () => {
  it("validates `quickstart` from a folder without it", async () => {
    const run = spawnSync(process.execPath, [RTBENCH_BIN, "validate", "quickstart"], {
      cwd: dir,
      encoding: "utf8",
    });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^ok {2}quickstart \(quickstart: 4 protocols, 200 clients, 8s\)$/m);
  });

  it("lists the bundled names for an unknown one", async () => {
    const run = spawnSync(process.execPath, [RTBENCH_BIN, "validate", "quikstart"], {
      cwd: dir,
      encoding: "utf8",
    });
    expect(run.status).toBe(2);
    // Every file under scenarios/ (not its folders), by name, in order.
    const bundled = readdirSync(join(packageRoot, "scenarios"))
      .filter((file) => file.endsWith(".yaml"))
      .map((file) => file.slice(0, -".yaml".length))
      .sort();
    expect(bundled).toContain("quickstart");
    expect(run.stderr).toContain(`or a bundled scenario: ${bundled.join(", ")}\n`);
  });
});

describe("rtbench init", () => {
  it("writes a commented starter that validates, with a $schema that resolves, and a workflow", async () => {
    const project = await mkdtemp(join(tmpdir(), "rtbench-init-"));
    const run = spawnSync(process.execPath, [RTBENCH_BIN, "init", "chat-room", "--ci"], {
      cwd: project,
      encoding: "utf8",
    });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain("wrote chat-room.yaml");
    expect(run.stdout).toContain("wrote .github/workflows/rtbench.yml");
    const text = await readFile(join(project, "chat-room.yaml"), "utf8");
    const schema = /^# yaml-language-server: \$schema=(\S+)$/m.exec(text)?.[1];
    expect(schema).toBeDefined();
    expect(existsSync(join(project, schema as string))).toBe(true);
    expect(text).toMatch(/^name: chat-room$/m);
    expect(text.split("\n").filter((l) => l.trimStart().startsWith("#")).length).toBeGreaterThan(
      10,
    );
    expect(parseScenario(text, "chat-room.yaml").name).toBe("chat-room");

    const workflow = await readFile(join(project, ".github/workflows/rtbench.yml"), "utf8");
    expect(workflow).toContain("SCENARIO_FILE: chat-room.yaml");
    expect(workflow).toContain("BASELINE: results/baselines/chat-room.json");
    expect(workflow).not.toContain("quickstart");

    // Nothing is overwritten without --force.
    const again = spawnSync(process.execPath, [RTBENCH_BIN, "init", "chat-room"], {
      cwd: project,
      encoding: "utf8",
    });
    expect(again.status).toBe(2);
    expect(again.stderr).toContain("chat-room.yaml already exists (--force overwrites)");
  });
});

describe("a multi-file run", () => {
  it("names the file whose run failed", async () => {
    const good = join(dir, "good.yaml");
    const failing = join(dir, "failing.yaml");
    await writeFile(
      good,
      "name: good\nprotocols: [websocket]\nclients: { count: 4, channels: 1, rampUp: 100ms }\nduration: 1s\nwarmup: 0s\ndrain: 300ms\n",
    );
    await writeFile(
      failing,
      "name: failing\nprotocols: [websocket]\nserver: { instances: 2, broker: redis }\nclients: { count: 4, channels: 1 }\nduration: 1s\nwarmup: 0s\n",
    );
    const closedPort = await freePort(); // nothing listens there
    const { code, stderr } = await runRtbench(["run", good, failing, "--out", dir], {
      env: { REDIS_URL: `redis://127.0.0.1:${closedPort}` },
    });
    expect(code).toBe(3);
    expect(stderr).toContain(`error: ${failing}: the run failed:`);
    expect(stderr).not.toContain(`error: ${good}`);
  });
});
