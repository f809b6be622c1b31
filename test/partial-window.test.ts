/**
 * A run stopped by Ctrl-C judges only the messages that had the drain time to
 * arrive; its per-delivery figures must count bytes, requests and server CPU
 * over the same span as the deliveries they are divided by, or a partial long-poll run
 * shows several times the bytes and requests per delivery of a full one and
 * `compare` calls it a regression. Real CLI processes, a real SIGINT.
 */
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ProtocolResult, RunResult } from "../src/metrics/types.js";
import { packageRoot } from "../src/util/paths.js";
import { RTBENCH_BIN, runRtbench } from "./helpers/cli.js";
import { sleep, waitFor } from "./helpers/wait.js";

/** Long enough that bytes counted past the judged window would show (~2x at the stop below). */
const DRAIN = "2s";
/**
 * From the first shard process (the clients are coming up) to the SIGINT: past
 * ramp-up (200 ms), warmup (500 ms) and the drain, a few seconds into the window.
 */
const INTERRUPT_AFTER_SHARD_MS = 6000;
/** A sane factor between a partial and a full run of the same workload. */
const FACTOR = 1.5;

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "rtbench-partial-"));
  await writeFile(join(dir, "lp.yaml"), SCENARIO);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** One scenario file for both runs: a baseline must be of the same workload. */
const SCENARIO = `name: lp
protocols: [long-poll]
clients: { count: 20, channels: 2, rampUp: 200ms }
publish: { rate: 20/s }
duration: 60s
warmup: 500ms
drain: ${DRAIN}
`;

/**
 * `rtbench run FILE --out DIR [...flags]`; with `interrupt`, SIGINT once the
 * run's clients are up (its first shard process is seen) and `interrupt` ms
 * more have passed: a fixed delay from the start would depend on how long a
 * loaded machine takes to start the server.
 */
async function run(name: string, flags: string[], interrupt: number | null) {
  const file = join(dir, "lp.yaml");
  const out = join(dir, name);
  const child = spawn(
    process.execPath,
    [RTBENCH_BIN, "run", file, "--out", out, "--quiet", ...flags],
    { cwd: packageRoot, stdio: "ignore", env: { ...process.env, NO_COLOR: "1" } },
  );
  const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
  const killer = setTimeout(() => child.kill("SIGKILL"), 40_000);
  if (interrupt !== null && child.pid !== undefined) {
    const pid = child.pid;
    await waitFor(() => hasShardChild(pid), "the run's first shard process", 30_000).catch(
      (error: unknown) => {
        child.kill("SIGKILL");
        throw error;
      },
    );
    await sleep(interrupt);
    child.kill("SIGINT");
  }
  const code = await exited;
  clearTimeout(killer);
  const [json] = (await readdir(out)).filter((f) => f.endsWith(".json"));
  const path = join(out, json as string);
  const result = JSON.parse(await readFile(path, "utf8")) as RunResult;
  return { code, path, result, poll: result.protocols["long-poll"] as ProtocolResult };
}

/** A child process of `pid` running the shard entry (src/load/shard-main). */
function hasShardChild(pid: number): boolean {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (parent === pid && readFileSync(`/proc/${entry}/cmdline`, "utf8").includes("shard-main")) {
        return true;
      }
    } catch {
      // Gone between the listing and the read.
    }
  }
  return false;
}

describe("a partial (interrupted) result", () => {
  it("has per-delivery figures within a sane factor of a full run's, and compare finds no regression", async () => {
    const [full, partial] = await Promise.all([
      run("full", ["--duration", "4s"], null),
      run("partial", [], INTERRUPT_AFTER_SHARD_MS),
    ]);
    expect(full.code).toBe(0);
    expect(partial.code).toBe(130);
    expect(partial.result.status).toBe("partial");
    expect(partial.poll.delivered).toBeGreaterThan(0);
    for (const metric of ["bytesPerDelivery", "requestsPerDelivery", "deliveriesPerSec"] as const) {
      const ratio = Number(partial.poll[metric]) / Number(full.poll[metric]);
      expect(ratio, `${metric}: ${partial.poll[metric]} vs ${full.poll[metric]}`).toBeLessThan(
        FACTOR,
      );
      expect(ratio, metric).toBeGreaterThan(1 / FACTOR);
    }
    // CPU time comes in 10 ms ticks over a few seconds: a looser factor, but a number.
    const cpu = (r: ProtocolResult) => Number(r.server.cpuSecondsPer1kDeliveries);
    expect(partial.poll.server.cpuSecondsPer1kDeliveries).not.toBeNull();
    expect(cpu(partial.poll) / cpu(full.poll)).toBeLessThan(3);
    expect(cpu(partial.poll) / cpu(full.poll)).toBeGreaterThan(1 / 3);
    const compared = await runRtbench(["compare", full.path, partial.path]);
    expect(compared.stdout + compared.stderr).not.toMatch(/REGRESSED/);
    expect(compared.code, compared.stdout).toBe(0);
  }, 60_000);
});
