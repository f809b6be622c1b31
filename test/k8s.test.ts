/**
 * `rtbench k8s`: every object it writes validates against Kubernetes' own
 * schemas (kubernetes-models, generated from the Kubernetes OpenAPI
 * document; no schema of ours), the pods are wired as the worker contract
 * says (Indexed Job, `rtbench worker --coordinator ws://SERVICE:7070`, the
 * index from JOB_COMPLETION_INDEX), and the coordinator pod's scripts pass
 * exit codes, signals and the result file on, run for real under sh.
 */
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { IJob } from "kubernetes-models/batch/v1/Job";
import { Job } from "kubernetes-models/batch/v1/Job";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import type { IService } from "kubernetes-models/v1/Service";
import { Service } from "kubernetes-models/v1/Service";
import { afterAll, describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import { parseAllDocuments } from "yaml";
import { commands } from "../src/cli/commands/index.js";
import { defaultName, portNote } from "../src/cli/commands/k8s.js";
import { UNSAFE_SYSCTLS } from "../src/k8s/job-parts.js";
import { buildManifests, type RunManifest } from "../src/k8s/manifests.js";
import { COORDINATOR_PORT, type ManifestOptions } from "../src/k8s/run-objects.js";
import { COORDINATOR_SCRIPT, RESULT_SCRIPT } from "../src/k8s/scripts.js";
import { sizeRun } from "../src/k8s/sizing.js";
import { workerArgs } from "../src/k8s/worker-job.js";
import { loadScenario } from "../src/scenario/load.js";
import type { Scenario } from "../src/scenario/types.js";
import { packageRoot, packageVersion } from "../src/util/paths.js";
import { RTBENCH_BIN, runRtbench } from "./helpers/cli.js";

const temporary: string[] = [];
afterAll(async () => {
  for (const dir of temporary) await rm(dir, { recursive: true, force: true });
});
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "rtbench-k8s-"));
  temporary.push(dir);
  return dir;
}

/** Validates with the model of the object's kind; throws what Kubernetes' schema rejects. */
function validate(object: unknown): string {
  const { apiVersion, kind } = object as { apiVersion: string; kind: string };
  const key = `${apiVersion}/${kind}`;
  if (key === "v1/ConfigMap") new ConfigMap(object as ConfigMap).validate();
  else if (key === "v1/Service") new Service(object as Service).validate();
  else if (key === "batch/v1/Job") new Job(object as Job).validate();
  else throw new Error(`no model for ${key}`);
  return key;
}

function optionsFor(scenario: Scenario, workers: number, extra: Partial<ManifestOptions> = {}) {
  return {
    scenario,
    scenarioText: scenario.source.text ?? "",
    scenarioKey: "scenario.yaml",
    workers,
    image: "registry.example.com/rtbench:0.1.0",
    name: defaultName(scenario.name),
    namespace: null,
    unsafeSysctls: false,
    workerWaitMs: 300_000,
    sizes: sizeRun(scenario, workers),
    version: packageVersion(),
    ...extra,
  } satisfies ManifestOptions;
}

function byKindAndName(objects: RunManifest[], kind: string, suffix: string) {
  const found = objects.find((o) => o.kind === kind && o.metadata?.name?.endsWith(suffix));
  if (!found) throw new Error(`no ${kind} *${suffix}`);
  return found;
}

const BUNDLED = ["quickstart", "chat", "fanout", "reconnect-storm", "routing", "http2"];

describe("rtbench k8s: the manifests against Kubernetes' schemas", () => {
  it("every object of every bundled scenario validates, for 1, 3 and 40 workers, with and without the options", async () => {
    let validated = 0;
    for (const name of BUNDLED) {
      const scenario = await loadScenario(join(packageRoot, "scenarios", `${name}.yaml`));
      for (const workers of [1, 3, 40]) {
        const extra = workers === 3 ? { namespace: "load-tests", unsafeSysctls: true } : {};
        const objects = buildManifests(optionsFor(scenario, workers, extra));
        expect(objects.map(validate)).toEqual([
          "v1/ConfigMap",
          "v1/Service",
          "batch/v1/Job",
          "batch/v1/Job",
        ]);
        validated += objects.length;
      }
    }
    expect(validated).toBe(BUNDLED.length * 3 * 4);
  });

  it("the validator is live: it rejects what Kubernetes would", async () => {
    const scenario = await loadScenario(join(packageRoot, "scenarios", "quickstart.yaml"));
    const workers = byKindAndName(
      buildManifests(optionsFor(scenario, 3)),
      "Job",
      "-workers",
    ) as IJob;
    const spec = workers.spec as NonNullable<IJob["spec"]>;
    const broken = [
      { ...spec, completionMode: "indexed" },
      { ...spec, parallelism: "3" },
      {
        ...spec,
        template: { ...spec.template, spec: { ...spec.template.spec, containers: [{}] } },
      },
    ];
    for (const bad of broken) {
      expect(() => validate({ ...workers, spec: bad })).toThrow();
    }
  });

  it("what the CLI writes with --out parses as YAML and validates, object by object", async () => {
    const out = await tempDir();
    const { code, stdout, stderr } = await runRtbench([
      "k8s",
      "scenarios/chat.yaml",
      "--workers",
      "4",
      "--image",
      "rtbench:test",
      "--out",
      out,
      "--namespace",
      "bench",
    ]);
    expect(stderr).not.toMatch(/at .*\.js:\d+/); // no stack
    expect(code).toBe(0);
    const file = join(out, "rtbench-chat.yaml");
    expect(stdout).toContain(`wrote ${file}`);
    expect(stdout).toContain("kubectl apply -n bench -f");
    const documents = parseAllDocuments(readFileSync(file, "utf8"));
    const objects = (Array.isArray(documents) ? documents : [documents]).map((d) => d.toJS());
    expect(objects.map(validate)).toEqual([
      "v1/ConfigMap",
      "v1/Service",
      "batch/v1/Job",
      "batch/v1/Job",
    ]);
    for (const object of objects) expect(object.metadata.namespace).toBe("bench");
  });
});

describe("rtbench k8s: the pods keep the worker contract", () => {
  it("workers are an Indexed Job of N pods running `rtbench worker --coordinator ws://SERVICE:7070`, index from JOB_COMPLETION_INDEX", async () => {
    const scenario = await loadScenario(join(packageRoot, "scenarios", "chat.yaml"));
    const objects = buildManifests(optionsFor(scenario, 5));
    const service = byKindAndName(objects, "Service", "-coordinator") as IService;
    const workers = byKindAndName(objects, "Job", "-workers") as IJob;
    const spec = workers.spec as NonNullable<IJob["spec"]>;
    expect(spec.completionMode).toBe("Indexed");
    expect(spec.completions).toBe(5);
    expect(spec.parallelism).toBe(5);
    // Retries count per worker, and failed workers never end the others.
    expect(spec.backoffLimitPerIndex).toBe(2);
    expect(spec.maxFailedIndexes).toBeUndefined();
    const pod = spec.template.spec;
    const [worker] = pod?.containers ?? [];
    const url = `ws://${service.metadata?.name}:${COORDINATOR_PORT}`;
    expect(worker?.command).toBeUndefined(); // the image's entrypoint: rtbench
    expect(worker?.args).toEqual(["worker", "--coordinator", url]);
    expect(worker?.args).toEqual(workerArgs(defaultName(scenario.name)));
    // The index is Kubernetes' own JOB_COMPLETION_INDEX: neither --index nor an env override.
    expect(worker?.args).not.toContain("--index");
    expect((worker?.env ?? []).map((e) => e.name)).not.toContain("JOB_COMPLETION_INDEX");
    // Workers spread over nodes, and their source ports cover the widest range.
    const spread = pod?.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution;
    expect(spread?.[0]?.podAffinityTerm.topologyKey).toBe("kubernetes.io/hostname");
    expect(spread?.[0]?.podAffinityTerm.labelSelector?.matchLabels).toEqual(
      pod && workers.spec?.template.metadata?.labels
        ? {
            "app.kubernetes.io/instance":
              workers.spec.template.metadata.labels["app.kubernetes.io/instance"],
            "app.kubernetes.io/component": "worker",
          }
        : null,
    );
    expect(pod?.securityContext?.sysctls).toEqual([
      { name: "net.ipv4.ip_local_port_range", value: "1024 65535" },
    ]);
  });

  it("the headless Service selects the coordinator's pod, which listens where the workers dial", async () => {
    const scenario = await loadScenario(join(packageRoot, "scenarios", "chat.yaml"));
    const objects = buildManifests(optionsFor(scenario, 2, { unsafeSysctls: true }));
    const service = byKindAndName(objects, "Service", "-coordinator") as IService;
    const coordinator = byKindAndName(objects, "Job", "-coordinator") as IJob;
    const workers = byKindAndName(objects, "Job", "-workers") as IJob;
    expect(service.spec?.clusterIP).toBe("None");
    expect(service.spec?.ports).toEqual([{ name: "control", port: 7070, targetPort: 7070 }]);
    const selects = (labels: Record<string, string> | undefined) =>
      Object.entries(service.spec?.selector ?? {}).every(([k, v]) => labels?.[k] === v);
    expect(selects(coordinator.spec?.template.metadata?.labels)).toBe(true);
    expect(selects(workers.spec?.template.metadata?.labels)).toBe(false);
    const pod = coordinator.spec?.template.spec;
    const main = pod?.containers.find((c) => c.name === "coordinator");
    expect(main?.args).toEqual([
      "run",
      "/etc/rtbench/scenario.yaml",
      "--workers",
      "2",
      "--coordinator-listen",
      "0.0.0.0:7070",
      "--worker-wait",
      "300s",
      "--out",
      "/results",
    ]);
    expect(coordinator.spec?.backoffLimit).toBe(0);
    expect(pod?.securityContext?.sysctls).toEqual(UNSAFE_SYSCTLS);
    // The ConfigMap carries the scenario as written, mounted where the args name it.
    const config = byKindAndName(objects, "ConfigMap", "-scenario") as {
      data: Record<string, string>;
    };
    expect(config.data["scenario.yaml"]).toBe(scenario.source.text);
    expect(main?.volumeMounts?.find((m) => m.mountPath === "/etc/rtbench")?.name).toBe("scenario");
  });

  it.skipIf(!commands().some((c) => c.name() === "worker"))(
    "the real `rtbench worker`, run with the manifest's arguments, says hello with its JOB_COMPLETION_INDEX",
    async () => {
      const server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
      await new Promise((resolve) => server.once("listening", resolve));
      const { port } = server.address() as { port: number };
      const hello = new Promise<Record<string, unknown>>((resolve) =>
        server.once("connection", (socket) =>
          socket.once("message", (data) => resolve(JSON.parse(String(data)))),
        ),
      );
      const args = workerArgs("rtbench-test").map((a) =>
        a.startsWith("ws://") ? `ws://127.0.0.1:${port}` : a,
      );
      const child = spawn(process.execPath, [RTBENCH_BIN, ...args], {
        env: { ...process.env, JOB_COMPLETION_INDEX: "2" },
        stdio: "ignore",
      });
      try {
        const message = await Promise.race([
          hello,
          new Promise<never>((_, reject) =>
            setTimeout(() => reject(new Error("no hello in 10 s")), 10_000),
          ),
        ]);
        expect(message).toMatchObject({ type: "hello", version: packageVersion(), index: 2 });
      } finally {
        child.kill("SIGKILL");
        for (const client of server.clients) client.terminate();
        await new Promise((resolve) => server.close(resolve));
      }
    },
  );
});

describe("rtbench k8s: requests from the shard plan", () => {
  async function scenarioFrom(text: string): Promise<Scenario> {
    const dir = await tempDir();
    const file = join(dir, "s.yaml");
    writeFileSync(file, text);
    return loadScenario(file);
  }
  const chat = (protocol: string, extra = "") => `name: chat-50k
protocols: [${protocol}]
target:
  urls: [http://chat.bench.svc:8080]
clients:
  count: 50000
  channels: 5000
publish:
  rate: 5000/s
duration: 60s
${extra}`;

  it("splits the work: N workers each get a 1/N segment, and the memory of its clients", async () => {
    const scenario = await scenarioFrom(chat("websocket"));
    const one = sizeRun(scenario, 1);
    const ten = sizeRun(scenario, 10);
    expect(one.segment.clients).toBe(50_000);
    expect(ten.segment.clients).toBe(5_000);
    // 50,000 deliveries/s at 24 µs each (shard-plan.ts): 1.2 cores in all.
    expect(one.segment.clientCores).toBeCloseTo(1.2, 5);
    expect(ten.segment.clientCores).toBeCloseTo(0.12, 5);
    // Planned at 60 % of a core per shard, plus the worker's own relay.
    expect(one.worker.cores).toBe(2.1);
    expect(ten.worker.cores).toBe(0.3);
    // 15,000 clients per shard at most: 4 shards for 50,000.
    expect(one.segment.shards).toBe(4);
    expect(one.worker.memoryMiB).toBeGreaterThan(ten.worker.memoryMiB * 4);
    // A target's servers are its own: the coordinator is sized for itself alone.
    expect(one.coordinator).toEqual({ cores: 1, memoryMiB: 512 });
  });

  it("costs more for what costs more: TLS, permessage-deflate, polling", async () => {
    const plain = sizeRun(await scenarioFrom(chat("websocket")), 10).worker;
    const tls = sizeRun(
      await scenarioFrom(chat("websocket").replace("http://chat", "https://chat")),
      10,
    ).worker;
    const deflate = sizeRun(
      await scenarioFrom(chat("websocket", "websocket:\n  deflate: on\n")),
      10,
    ).worker;
    const poll = sizeRun(await scenarioFrom(chat("long-poll")), 10).worker;
    expect(tls.memoryMiB).toBeGreaterThan(plain.memoryMiB);
    expect(deflate.memoryMiB).toBeGreaterThan(plain.memoryMiB);
    expect(poll.cores).toBeGreaterThan(plain.cores);
  });
});

describe("rtbench k8s: the 1M-user plan (examples/kubernetes/chat-1m.yaml)", () => {
  it("validates, and says when a worker's connections to one address outrun its source ports", async () => {
    const scenario = await loadScenario(
      join(packageRoot, "examples", "kubernetes", "chat-1m.yaml"),
    );
    for (const workers of [10, 20, 40]) {
      const objects = buildManifests(optionsFor(scenario, workers));
      expect(objects.map(validate)).toHaveLength(4);
    }
    // One load-balancer address: 100,000 per worker cannot connect, 50,000 connect slowly, 25,000 is fine.
    expect(portNote(scenario, sizeRun(scenario, 10))).toMatch(/100,000 connections .* will fail/);
    expect(portNote(scenario, sizeRun(scenario, 20))).toMatch(/50,000 connections .* slow down/);
    expect(portNote(scenario, sizeRun(scenario, 40))).toBeNull();
    // The figures docs/kubernetes.md quotes for 40 workers.
    expect(sizeRun(scenario, 40).worker).toEqual({ cores: 0.5, memoryMiB: 2094 });
  });
});

describe("rtbench k8s: bad input", () => {
  it("exits 2 with one clear line: no --image, --workers 0, a bad name", async () => {
    const cases: [string[], RegExp][] = [
      [["--workers", "3"], /--image is required/],
      [
        ["--workers", "0", "--image", "x"],
        /--workers: expected a whole number from 1 to 100,000, found "0"/,
      ],
      [
        ["--workers", "2", "--image", "x", "--name", "Bad_Name"],
        /--name: expected at most 40 lowercase/,
      ],
    ];
    for (const [flags, message] of cases) {
      const { code, stderr, stdout } = await runRtbench([
        "k8s",
        "scenarios/quickstart.yaml",
        ...flags,
      ]);
      expect(code).toBe(2);
      expect(stdout).toBe("");
      expect(stderr.trim().split("\n")).toHaveLength(1);
      expect(stderr).toMatch(message);
    }
  });
});

describe("the coordinator pod's scripts, under sh", () => {
  /** A results folder, and PATH with `rtbench` on it as the image has. */
  async function pod() {
    const dir = await tempDir();
    const results = join(dir, "results");
    const bin = join(dir, "bin");
    mkdirSync(results);
    mkdirSync(bin);
    symlinkSync(RTBENCH_BIN, join(bin, "rtbench"));
    writeFileSync(join(dir, "coordinator.sh"), COORDINATOR_SCRIPT);
    writeFileSync(join(dir, "result.sh"), RESULT_SCRIPT);
    const env = { ...process.env, PATH: `${bin}:${process.env.PATH}`, RTBENCH_RESULTS: results };
    return { dir, results, env };
  }
  function sh(script: string, args: string[], env: NodeJS.ProcessEnv) {
    // From the package folder, as the scenario paths below are relative to it.
    const child = spawn("sh", [script, ...args], {
      cwd: packageRoot,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    const done = new Promise<{ code: number | null; stdout: string }>((resolve) =>
      child.on("close", (code) => resolve({ code, stdout })),
    );
    return { child, done };
  }

  it("passes rtbench's exit code on and leaves it for the result container, which then prints the result JSON", async () => {
    const { dir, results, env } = await pod();
    // `k8s` without --workers: bad input, exit 2.
    const outcome = await sh(join(dir, "coordinator.sh"), ["k8s", "scenarios/quickstart.yaml"], env)
      .done;
    expect(outcome.code).toBe(2);
    expect(readFileSync(join(results, "exit-code"), "utf8").trim()).toBe("2");
    writeFileSync(join(results, "chat-2026.json"), '{"schemaVersion":1}\n');
    const printed = await sh(join(dir, "result.sh"), [], env).done;
    expect(printed.code).toBe(0);
    expect(printed.stdout).toBe('{"schemaVersion":1}\n');
  });

  it("turns SIGTERM (a deleted Job) into rtbench's Ctrl-C and still leaves the exit code", async () => {
    const { dir, results, env } = await pod();
    const run = sh(join(dir, "coordinator.sh"), ["serve", "--port", "0"], env);
    // Wait until the server says it listens, then stop the pod's first process.
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("serve did not start in 15 s")), 15_000);
      run.child.stdout.on("data", () => {
        clearTimeout(timer);
        resolve();
      });
    });
    run.child.kill("SIGTERM");
    const outcome = await run.done;
    expect(outcome.code).toBe(0); // serve stops cleanly on Ctrl-C
    expect(readFileSync(join(results, "exit-code"), "utf8").trim()).toBe("0");
  });
});
