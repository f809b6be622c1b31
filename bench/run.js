#!/usr/bin/env node
// Benchmarks: long scale runs that do not belong in `npm test`. Each runs the
// real CLI in its own process and keeps its result JSON and table under
// bench/results/<date>/, so figures in notes and the README can be traced.
//
//   npm run bench                 fanout.yaml (5,000 subscribers per protocol)
//   npm run bench -- storm        reconnect-storm.yaml and its no-resume twin
//   npm run bench -- sweep        largest healthy client count per protocol
//   npm run bench -- fuzz         the fuzz suite with 5,000 inputs per category and broker
//   npm run bench -- noise        the gate's false alarms: 10 unchanged quickstart runs
//                                 compared pairwise, and one with 30 ms more delay
//   npm run bench -- anchors      rtbench next to autocannon, a minimal ws subscriber,
//                                 a naive Node broadcast server, Nchan and a bare
//                                 publisher (anchors/run.js)
//   npm run bench -- scale        50,000 WebSocket and 50,000 SSE clients (scale.js)
//   npm run bench -- tls          20,000 WebSocket and 20,000 SSE clients, TLS next to
//                                 plaintext, and memory per idle TLS client (tls.js)
//   npm run bench -- brokers      each broker's added latency over memory, its own round
//                                 trip, and its CPU per delivery (brokers.js)
//   npm run bench -- conformance  WebSocket conformance after Autobahn's cases: the reference
//                                 server (fuzzing client) and the lean client (fuzzing server)
//   npm run bench -- workers      50,000 WebSocket clients on 10 local workers of 5,000
//                                 (rtbench run --workers 10 --local) next to one process (workers.js)
//   npm run bench -- network      20,000 WebSocket clients on the 4g profile next to the same
//                                 unshaped (network.js; RTBENCH_NETWORK_CLIENTS sizes it)
//   npm run bench -- all          fanout, storm, sweep, fuzz and noise
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bin = join(root, "bin", "rtbench.js");
const stamp = new Date().toISOString().replace(/[:.]/g, "-");
const outDir = join(root, "bench", "results", stamp);
mkdirSync(outDir, { recursive: true });
const what = process.argv[2] ?? "fanout";

function run(name, args) {
  const out = join(outDir, name);
  mkdirSync(out, { recursive: true });
  process.stderr.write(`bench: ${name}: rtbench ${args.join(" ")}\n`);
  const started = Date.now();
  const child = spawnSync(process.execPath, [bin, "run", ...args, "--out", out, "--quiet"], {
    cwd: root,
    encoding: "utf8",
    // Bounded: no benchmark may run for more than 30 minutes.
    timeout: 30 * 60_000,
  });
  const seconds = Math.round((Date.now() - started) / 1000);
  writeFileSync(join(out, "table.txt"), `${child.stdout}\n${child.stderr}`);
  process.stdout.write(`\n## ${name} (exit ${child.status}, ${seconds}s)\n\n${child.stdout}\n`);
  const files = readdirSync(out).filter((f) => f.endsWith(".json"));
  return files.map((f) => JSON.parse(readFileSync(join(out, f), "utf8")));
}

function scenarioFile(name, text) {
  const file = join(outDir, `${name}.yaml`);
  writeFileSync(file, text);
  return file;
}

if (what === "fanout" || what === "all") run("fanout", ["scenarios/fanout.yaml"]);
if (what === "storm" || what === "all") {
  run("reconnect-storm", ["scenarios/reconnect-storm.yaml"]);
  run("reconnect-storm-no-resume", ["scenarios/reconnect-storm-no-resume.yaml"]);
}
if (what === "sweep" || what === "all") {
  // Doubles the subscriber count (one channel, 2 messages/s) until the run
  // loses messages or the generator is unhealthy; the last healthy count is
  // what one 2-core machine holds with server and generator side by side.
  const summary = {};
  for (const protocol of ["websocket", "sse", "long-poll", "short-poll"]) {
    let healthy = 0;
    for (const count of [1000, 2500, 5000, 10000, 15000]) {
      const file = scenarioFile(
        `sweep-${protocol}-${count}`,
        `name: sweep-${protocol}-${count}\nprotocols: [${protocol}]\nclients: { count: ${count}, rampUp: 20s, channels: 1 }\npublish: { rate: 2/s }\nduration: 20s\nwarmup: 5s\ndrain: 10s\nshortPoll: { interval: 5s }\n`,
      );
      const [result] = run(`sweep-${protocol}-${count}`, [file]);
      const r = result?.protocols?.[protocol];
      const ok = r && result.reliable && r.lost === 0 && r.connected === count;
      summary[`${protocol}@${count}`] = r
        ? {
            reliable: result.reliable,
            connected: r.connected,
            lost: r.lost,
            p99: r.latency.p99,
            loopDelayP99: r.generator.eventLoopDelayP99,
            serverRssPerConnection: r.server.rssBytesPerConnection,
          }
        : { failed: true };
      if (!ok) break;
      healthy = count;
    }
    summary[protocol] = { largestHealthy: healthy };
  }
  writeFileSync(join(outDir, "sweep.json"), `${JSON.stringify(summary, null, 2)}\n`);
  process.stdout.write(`\n## sweep\n\n${JSON.stringify(summary, null, 2)}\n`);
}
if (what === "fuzz" || what === "all") {
  // The npm test fuzz suite, scaled up; it writes one summary per broker here.
  const inputs = process.env.RTBENCH_FUZZ_INPUTS ?? "5000";
  const seed = process.env.RTBENCH_FUZZ_SEED ?? String(Date.now() % 1_000_000);
  process.stderr.write(`bench: fuzz: ${inputs} inputs per category, seed ${seed}\n`);
  const child = vitest("test/fuzz.test.ts", "fuzz.txt", {
    RTBENCH_FUZZ_INPUTS: inputs,
    RTBENCH_FUZZ_SEED: seed,
    RTBENCH_FUZZ_REPORT: outDir,
  });
  for (const file of readdirSync(outDir).filter((f) => /^fuzz-.*\.json$/.test(f))) {
    process.stdout.write(
      `\n## ${file} (vitest exit ${child.status})\n\n${readFileSync(join(outDir, file), "utf8")}`,
    );
  }
  if (child.status !== 0) process.exitCode = 1;
}
if (what === "conformance") conformance();
if (what === "noise" || what === "all") noise();
if (what === "anchors") await (await import("./anchors/run.js")).runAnchors(outDir);
if (what === "scale") await (await import("./scale.js")).runScale(outDir, run);
if (what === "tls") await (await import("./tls.js")).runTls(outDir, run, root);
if (what === "brokers") await (await import("./brokers.js")).runBrokers(outDir);
if (what === "workers") await (await import("./workers.js")).runWorkersBench(outDir, run);
if (what === "network") await (await import("./network.js")).runNetwork(outDir, run);
process.stderr.write(`bench: results in ${outDir}\n`);

/**
 * The baseline gate's false-alarm rate on this machine: N unchanged runs of
 * the quickstart, each compared with every other (`rtbench compare`, both
 * ways), must give no regression; a run whose server holds every delivery
 * 30 ms longer must regress latency p50 against each of them. The delayed
 * scenario is a copy with `server.deliveryDelay`, so its file hash differs:
 * its result's scenario.sha256 is cleared, which compare accepts with a
 * warning.
 */
function noise() {
  const runs = Number(process.env.RTBENCH_NOISE_RUNS ?? 10);
  const files = [];
  for (let i = 1; i <= runs; i++) {
    run(`noise-${i}`, ["scenarios/quickstart.yaml"]);
    files.push(jsonIn(join(outDir, `noise-${i}`)));
  }
  const delayedScenario = scenarioFile(
    "quickstart-delayed",
    readFileSync(join(root, "scenarios", "quickstart.yaml"), "utf8").replace(
      "  broker: memory\n",
      "  broker: memory\n  deliveryDelay: 30ms\n",
    ),
  );
  run("noise-delayed", [delayedScenario]);
  const delayed = jsonIn(join(outDir, "noise-delayed"));
  const result = JSON.parse(readFileSync(delayed, "utf8"));
  result.scenario.sha256 = null;
  writeFileSync(delayed, JSON.stringify(result));

  const summary = { runs, pairs: 0, pairsWithRegression: 0, regressions: {}, delayed: [] };
  for (const a of files) {
    for (const b of files) {
      if (a === b) continue;
      const regressed = compare(a, b);
      summary.pairs++;
      if (regressed.length > 0) summary.pairsWithRegression++;
      for (const metric of regressed)
        summary.regressions[metric] = (summary.regressions[metric] ?? 0) + 1;
    }
    summary.delayed.push(compare(a, delayed).filter((m) => m.endsWith(".latency.p50")));
  }
  writeFileSync(join(outDir, "noise.json"), `${JSON.stringify(summary, null, 2)}\n`);
  process.stdout.write(`\n## noise\n\n${JSON.stringify(summary, null, 2)}\n`);
}

/**
 * The conformance suite of npm test with section 9 up to 16 MB messages; it
 * writes conformance.json (every case, verdict and reason) and
 * conformance.md (the summary docs/benchmarks.md keeps a copy of).
 */
function conformance() {
  const child = vitest("test/ws-conformance.test.ts", "conformance.txt", {
    RTBENCH_CONFORMANCE_FULL: "1",
    RTBENCH_CONFORMANCE_REPORT: outDir,
  });
  const summary = join(outDir, "conformance.md");
  process.stdout.write(
    `\n## conformance (vitest exit ${child.status})\n\n${existsSync(summary) ? readFileSync(summary, "utf8") : child.stderr}`,
  );
  if (child.status !== 0) process.exitCode = 1;
}

/** One test file of npm test, scaled up by `env`; its output is kept in `outDir/log`. */
function vitest(file, log, env) {
  const child = spawnSync(
    process.execPath,
    [join(root, "node_modules", "vitest", "vitest.mjs"), "run", file],
    // Bounded: no benchmark may run for more than 30 minutes.
    { cwd: root, encoding: "utf8", env: { ...process.env, ...env }, timeout: 30 * 60_000 },
  );
  writeFileSync(join(outDir, log), `${child.stdout}\n${child.stderr}`);
  return child;
}

function jsonIn(dir) {
  const [file] = readdirSync(dir).filter((f) => f.endsWith(".json"));
  return join(dir, file);
}

/** `rtbench compare --json A B`: the regressed metric names. */
function compare(baseline, current) {
  const child = spawnSync(process.execPath, [bin, "compare", baseline, current, "--json"], {
    cwd: root,
    encoding: "utf8",
    timeout: 60_000,
  });
  return JSON.parse(child.stdout).regressions.map((r) => r.metric);
}
