// Two anchors for the one process of a run that cannot be sharded, and for
// the regime where a load generator spends most of its time on timers:
//
// - coordinator CPU per publish: the parent of `rtbench run` (publisher,
//   per-second aggregation, /proc sampling, progress), from the run's own
//   figure (saturation.processes, role publisher: CPU share of one core over
//   the measured window), against bare-publisher.js sending the same schedule
//   over the same request to the same server under the same subscribers.
//   Neither is pinned: `rtbench run` starts its own server and shards.
// - slow polls per generator CPU-second: 5,000 rtbench short-poll clients
//   polling once a second (poll-load.js) against autocannon with 5,000
//   connections at 1 request/s each (its connectionRate), both pinned to
//   core 1, measured after connecting.

import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { root, runJson, startServer, startWorker } from "./lib.js";

export const COORDINATOR = {
  clients: 2000,
  channels: 20,
  rate: 100,
  payloadBytes: 256,
  warmupSeconds: 3,
  windowSeconds: 15,
};
export const SLOW_POLL = { clients: 5000, intervalMs: 1000, seconds: 8 };

function coordinatorScenario() {
  const c = COORDINATOR;
  return `name: anchor-coordinator
protocols: [websocket]
clients: { count: ${c.clients}, rampUp: 4s, channels: ${c.channels} }
publish: { rate: ${c.rate}/s, payloadBytes: ${c.payloadBytes} }
duration: ${c.windowSeconds}s
warmup: ${c.warmupSeconds}s
drain: 2s
`;
}

/** `rtbench run` on the scenario; µs of its parent's CPU per publish in the window. */
async function rtbenchCoordinator() {
  const dir = mkdtempSync(join(tmpdir(), "rtbench-anchor-coordinator-"));
  try {
    const file = join(dir, "scenario.yaml");
    writeFileSync(file, coordinatorScenario());
    const child = spawn(
      process.execPath,
      [join(root, "bin/rtbench.js"), "run", file, "--out", dir, "--quiet"],
      { cwd: root, stdio: ["ignore", "ignore", "inherit"] },
    );
    const code = await new Promise((resolve) => child.once("exit", resolve));
    const json = readdirSync(dir).find((f) => f.endsWith(".json"));
    if (!json) throw new Error(`rtbench run exited with ${code} and wrote no result`);
    const result = JSON.parse(readFileSync(join(dir, json), "utf8")).protocols.websocket;
    const parent = result.saturation.processes.find((p) => p.role === "publisher");
    return {
      cpuShare: parent.cpuShare,
      // CPU share x 1 s / publishes per second: the window's CPU per publish.
      usPerPublish: (parent.cpuShare * 1e6) / COORDINATOR.rate,
      published: result.published,
      delivered: result.delivered,
      expected: result.expected,
      reliable: result.status,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** bare-publisher.js on the same schedule, server and subscribers (minimal `ws` ones). */
async function bareCoordinator() {
  const c = COORDINATOR;
  const server = await startServer("reference", null);
  try {
    const subscribers = await startWorker(
      "bench/anchors/ws-subscribers.js",
      [server.wsTemplate, String(c.clients), String(c.channels)],
      null,
    );
    try {
      const bare = await runJson(null, "bench/anchors/bare-publisher.js", [
        server.url,
        String(c.channels),
        String(c.rate),
        String(c.warmupSeconds),
        String(c.windowSeconds),
        String(c.payloadBytes),
      ]);
      return { ...bare, usPerPublish: (bare.cpuMs * 1000) / bare.windowPublished };
    } finally {
      await subscribers.stop();
      await subscribers.done();
    }
  } finally {
    await server.stop();
  }
}

/** One run of each arm, in the order `first` says. */
export async function coordinatorRun(rtbenchFirst) {
  const rtbench = rtbenchFirst ? await rtbenchCoordinator() : null;
  const bare = await bareCoordinator();
  return { rtbench: rtbench ?? (await rtbenchCoordinator()), bare };
}

export async function slowPollRun(rtbenchFirst) {
  const server = await startServer("reference");
  const { clients, intervalMs, seconds } = SLOW_POLL;
  const arms = {
    rtbench: () =>
      runJson(1, "bench/anchors/poll-load.js", [
        server.url,
        String(clients),
        String(intervalMs),
        String(seconds),
      ]),
    autocannon: () =>
      runJson(1, "bench/anchors/autocannon-load.js", [
        `${server.url}/api/messages?channel=anchor-poll-0&since=0`,
        String(clients),
        String(seconds),
        String(1000 / intervalMs),
        "2",
      ]),
  };
  try {
    const order = rtbenchFirst ? ["rtbench", "autocannon"] : ["autocannon", "rtbench"];
    const out = {};
    for (const name of order) {
      const r = await arms[name]();
      out[name] = { ...r, pollsPerCpuSecond: r.requests / (r.cpuMs / 1000) };
    }
    return out;
  } finally {
    await server.stop();
  }
}
