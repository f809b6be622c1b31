import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type PreflightInput, preflightWarnings, readSystemLimits } from "../src/load/preflight.js";
import type { RunResult } from "../src/metrics/types.js";
import { runRtbench } from "./helpers/cli.js";

/** Preflight against given limits: each limit met, and each one left alone. */
const roomy: PreflightInput = {
  clients: 1000,
  shards: 1,
  urls: ["http://127.0.0.1:8080"],
  rampUpMs: 2000,
  admitsPerInstance: 17_900,
  listenBacklog: 65_535,
  serversLocal: true,
  platform: "linux",
  limits: { openFiles: 20_000, localPortRange: [32_768, 60_999], somaxconn: 4096 },
};

function warningsFor(change: Partial<PreflightInput>): string[] {
  return preflightWarnings({ ...roomy, ...change });
}

describe("preflight", () => {
  it("says nothing when every limit has room", () => {
    expect(warningsFor({})).toEqual([]);
    // Unknown limits (not Linux) are not guessed at.
    expect(
      warningsFor({
        clients: 1_000_000,
        limits: { openFiles: null, localPortRange: null, somaxconn: null },
        admitsPerInstance: null,
      }),
    ).toEqual([]);
  });

  it("open files: a shard's clients past ulimit -n, with the shards that would fit", () => {
    const [warning, ...rest] = warningsFor({
      clients: 3000,
      limits: { ...roomy.limits, openFiles: 1024 },
      admitsPerInstance: null,
    });
    expect(rest).toEqual([]);
    expect(warning).toContain("each of the 1 shard(s) holds about 3000 client sockets");
    expect(warning).toContain("may open 1024 files (ulimit -n)");
    expect(warning).toContain("ulimit -n 65536");
    // 3000 clients at 1024 - 50 descriptors each: 4 shards.
    expect(warning).toContain("clients.shards: 4");
    expect(
      warningsFor({ clients: 3000, shards: 4, limits: { ...roomy.limits, openFiles: 1024 } }),
    ).toEqual([]);
  });

  it("admission: more clients per instance than an instance admits (issue 25)", () => {
    const warnings = warningsFor({
      clients: 40_000,
      shards: 3,
      urls: ["http://127.0.0.1:8080", "http://127.0.0.1:8081"],
      rampUpMs: 60_000,
    });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(
      "admission: about 20000 clients are planned per server instance (40000 over 2), and each admits 17900",
    );
    expect(warnings[0]).toContain(
      "the other 2100 are refused (HTTP 503 with Retry-After, before any WebSocket upgrade) and retry",
    );
    expect(
      warningsFor({
        clients: 40_000,
        shards: 3,
        urls: ["a", "b", "c"].map((_, i) => `http://127.0.0.1:${8080 + i}`),
        rampUpMs: 60_000,
      }),
    ).toEqual([]);
  });

  it("local ports: the kernel's range per source address, or overlapping rtbench's own", () => {
    const remote = warningsFor({
      clients: 12_000,
      urls: ["http://10.0.0.5:8080"],
      rampUpMs: 60_000,
      limits: { ...roomy.limits, localPortRange: [50_000, 59_999] },
      admitsPerInstance: null,
      serversLocal: false,
    });
    expect(remote).toEqual([
      expect.stringContaining(
        "about 12000 clients connect to each server address and port, and the kernel has 10000 source ports",
      ),
    ]);
    // Past 10,000 clients on loopback rtbench binds 127.0.x.y:10000-31999 itself.
    const overlap = warningsFor({
      clients: 12_000,
      rampUpMs: 60_000,
      limits: { ...roomy.limits, localPortRange: [15_000, 60_999] },
    });
    expect(overlap).toEqual([
      expect.stringContaining(
        "ip_local_port_range 15000-60999 overlaps the source ports rtbench binds",
      ),
    ]);
    expect(warningsFor({ clients: 12_000, rampUpMs: 60_000 })).toEqual([]);
  });

  it("listen queue: a ramp-up faster than somaxconn lets an instance take", () => {
    const fast = warningsFor({ clients: 10_000, rampUpMs: 100 });
    expect(fast).toEqual([
      expect.stringContaining(
        "about 10000 connects reach each server instance per 100 ms, and its listen queue holds 4096 (somaxconn 4096 caps it)",
      ),
    ]);
    expect(fast[0]).toContain("sudo sysctl -w net.core.somaxconn=65535");
    // Spread over 2 s, 500 connects per 100 ms fit; a remote server's queue is not ours to know.
    expect(warningsFor({ clients: 10_000, rampUpMs: 2000 })).toEqual([]);
    expect(warningsFor({ clients: 10_000, rampUpMs: 0, serversLocal: false })).toEqual([]);
  });

  it("reads this machine's limits from /proc", () => {
    const limits = readSystemLimits();
    if (process.platform !== "linux") return;
    expect(limits.openFiles).toBeGreaterThan(0);
    expect(limits.localPortRange?.[0]).toBeLessThan(limits.localPortRange?.[1] as number);
    expect(limits.somaxconn).toBeGreaterThan(0);
  });
});

describe("preflight in a real run", () => {
  it("warns before the clients connect when they exceed what the instance admits", async () => {
    const dir = await mkdtemp(join(tmpdir(), "rtbench-preflight-"));
    const file = join(dir, "admit.yaml");
    await writeFile(
      file,
      [
        "name: admit",
        "protocols: [websocket]",
        "server: { maxConnections: 6 }",
        "clients: { count: 10, channels: 2, rampUp: 200ms, shards: 1 }",
        "publish: { rate: 10/s }",
        "duration: 1500ms",
        "warmup: 500ms",
        "drain: 300ms",
      ].join("\n"),
    );
    const run = await runRtbench(["run", file, "--out", dir, "--json"], { timeoutMs: 60_000 });
    expect(run.stderr).toContain(
      "websocket: preflight: admission: about 10 clients are planned per server instance (10 over 1), and each admits 6",
    );
    const result = JSON.parse(run.stdout) as RunResult;
    expect(result.setup.notes).toContainEqual(
      expect.stringContaining("websocket: preflight: admission"),
    );
    await rm(dir, { recursive: true, force: true });
  });
});
