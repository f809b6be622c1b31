/**
 * The one process supervisor (src/util/supervisor.ts) and the system under
 * test resolved once (src/load/servers/system-under-test.ts). Real child
 * processes and /proc; the reference server's own instances are covered by
 * test/faults.test.ts and test/orphans.test.ts, a target's by
 * test/commanded.test.ts.
 */
import { describe, expect, it } from "vitest";
import { systemUnderTest } from "../src/load/servers/system-under-test.js";
import { parseScenario } from "../src/scenario/load.js";
import { groupAlive } from "../src/util/proc.js";
import { type Supervised, supervise } from "../src/util/supervisor.js";

const onLinux = process.platform === "linux";

/** `line` under `sh`, ready once it printed "up". */
function shell(line: string, scope: "process" | "tree"): Promise<Supervised> {
  return supervise({
    name: scope,
    command: "/bin/sh",
    args: ["-c", `echo up; ${line}`],
    readyLine: /^up$/,
    scope,
  });
}

describe.skipIf(!onLinux)("supervise", () => {
  it("fails with the kind's own line and only the last 20 lines of output, from both streams", async () => {
    // 30 lines on stdout, then 5 on stderr, then exit before the probe can pass.
    const script = [
      "echo up",
      "for i in $(seq 1 30); do echo out-$i; done",
      "sleep 0.3",
      "for i in $(seq 1 5); do echo err-$i >&2; done",
      "exit 4",
    ].join("\n");
    const failure = await supervise({
      name: "noisy",
      command: "/bin/sh",
      args: ["-c", script],
      readyLine: /^up$/,
      scope: "tree",
      probe: {
        ready: async () => false,
        timeoutMs: 10_000,
        intervalMs: 50,
        exited: (code, tail) => `noisy exited with ${code}: ${tail.join(",")}`,
        timedOut: () => "noisy never passed",
      },
    }).then(
      () => null,
      (error: Error) => error.message,
    );
    expect(failure).toMatch(/^noisy exited with 4: /);
    const tail = (failure as string).replace(/^noisy exited with 4: /, "").split(",");
    expect(tail).toHaveLength(20);
    // Both streams as they came, the last lines only, the ready line not among them.
    expect(tail.slice(0, 15)).toEqual(Array.from({ length: 15 }, (_, i) => `out-${i + 16}`));
    expect(tail.slice(15)).toEqual(["err-1", "err-2", "err-3", "err-4", "err-5"]);
    expect(tail).not.toContain("up");
  }, 20_000);

  it("stops a tree's whole group (a child beside the leader) and a process alone by its PID", async () => {
    const tree = await shell("sleep 60 & sleep 61", "tree");
    const group = tree.handle.pid;
    expect(tree.running()).toBe(true);
    await tree.stop("SIGTERM", 2000);
    expect(groupAlive(group)).toBe(false);
    expect(tree.running()).toBe(false);

    const alone = await shell("exec sleep 60", "process");
    alone.pause();
    // A stalled process still stops: SIGCONT goes first, so SIGTERM lands within the grace time.
    const startedMs = Date.now();
    await alone.stop("SIGTERM", 10_000);
    expect(Date.now() - startedMs).toBeLessThan(9000);
    expect(alone.running()).toBe(false);
  }, 30_000);
});

describe("the system under test, resolved once", () => {
  it("describes the bundled server and a running target alike, each with its own answers", () => {
    const bundled = systemUnderTest(
      parseScenario(
        [
          "name: bundled",
          "protocols: [websocket]",
          "server: { instances: 2, broker: redis, routing: sticky, auth: secret-token }",
          "clients: { count: 10 }",
          "publish: { rate: 1/s }",
          "duration: 5s",
          "warmup: 0s",
        ].join("\n"),
        "bundled.yaml",
      ),
    );
    expect(bundled).toMatchObject({
      owned: true,
      auth: "secret-token",
      sticky: true,
      localInstances: 2,
      acknowledgesPublishes: true,
      brokers: ["redis"],
      service: "redis",
      clients: { protocol: "reference", wire: {} },
      setup: { broker: "redis", instances: 2, target: null },
    });
    expect(bundled.protocol.name).toBe("reference");

    const running = systemUnderTest(
      parseScenario(
        [
          "name: running",
          "protocols: [websocket]",
          "target: { urls: ['http://user:pw@127.0.0.1:9/'] }",
          "clients: { count: 10 }",
          "publish: { rate: 1/s }",
          "duration: 5s",
          "warmup: 0s",
        ].join("\n"),
        "running.yaml",
      ),
    );
    expect(running).toMatchObject({
      owned: false,
      auth: null,
      sticky: false,
      registersMembers: false,
      proxy: null,
      localInstances: 0,
      brokers: [],
      setup: { broker: "external", instances: 1, targetCommand: null },
    });
    // A result is shared: the target's credentials stay out of its setup.
    expect(JSON.stringify(running.setup.target)).not.toContain("pw");
  });
});
