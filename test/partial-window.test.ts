/**
 * A run stopped by Ctrl-C judges only the messages that had the drain time to
 * arrive; its per-delivery figures must count bytes, requests and server CPU
 * over the same span as the deliveries they are divided by, or a partial long-poll run
 * shows several times the bytes and requests per delivery of a full one and
 * `compare` calls it a regression. Real CLI processes, a real SIGINT.
 */
import { spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ProtocolResult, RunResult } from "../src/metrics/types.js";
import { packageRoot } from "../src/util/paths.js";
import { RTBENCH_BIN, runRtbench } from "./helpers/cli.js";

/** Long enough that bytes counted past the judged window would show (3x at a 4.5 s stop). */
const DRAIN = "3s";
/** After start-up (1-5 s here, two runs at once) and warmup: a few seconds into the window. */
const INTERRUPT_AFTER_MS = 10_000;
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

/** `rtbench run FILE --out DIR [...flags]`, interrupted by SIGINT after `afterMs` when given. */
async function run(name: string, flags: string[], afterMs: number | null) {
  const file = join(dir, "lp.yaml");
  const out = join(dir, name);
  const child = spawn(
    process.execPath,
    [RTBENCH_BIN, "run", file, "--out", out, "--quiet", ...flags],
    { cwd: packageRoot, stdio: "ignore", env: { ...process.env, NO_COLOR: "1" } },
  );
  const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
  const timer = afterMs === null ? null : setTimeout(() => child.kill("SIGINT"), afterMs);
  const killer = setTimeout(() => child.kill("SIGKILL"), 40_000);
  const code = await exited;
  if (timer) clearTimeout(timer);
  clearTimeout(killer);
  const [json] = (await readdir(out)).filter((f) => f.endsWith(".json"));
  const path = join(out, json as string);
  const result = JSON.parse(await readFile(path, "utf8")) as RunResult;
  return { code, path, result, poll: result.protocols["long-poll"] as ProtocolResult };
}

describe("a partial (interrupted) result", () => {
  it("has per-delivery figures within a sane factor of a full run's, and compare finds no regression", async () => {
    const [full, partial] = await Promise.all([
      run("full", ["--duration", "4s"], null),
      run("partial", [], INTERRUPT_AFTER_MS),
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
