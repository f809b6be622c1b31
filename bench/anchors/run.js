// `npm run bench -- anchors`: rtbench next to what a user would compare it
// with, in one sitting on this machine, server pinned to core 0 and load to
// core 1 (when there are two), three runs each, arms interleaved so that
// drift in the machine's load spreads over all of them:
//
// - polls per generator CPU-second: rtbench's short-poll clients against
//   autocannon, both keeping 100 connections busy against the reference server;
// - generator CPU per WebSocket delivery: rtbench's subscribers (a shard's
//   Fleet) against a minimal hand-written `ws` subscriber;
// - server CPU per WebSocket delivery: the reference server against a naive
//   Node broadcast server and Nchan (nginx), all under the same `ws` subscribers;
// - slow polls per generator CPU-second (5,000 clients, 1 poll/s, against
//   autocannon at 1 request/s per connection) and the coordinator's CPU per
//   publish against a bare publisher (anchors/coordinator.js).
//
// Writes anchors.json (every run) and anchors.md (median and range, ratios).

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { COORDINATOR, coordinatorRun, SLOW_POLL, slowPollRun } from "./coordinator.js";
import {
  cpuSplitOf,
  machine,
  median,
  nchanInstalled,
  publishFor,
  runJson,
  spread,
  startServer,
  startWorker,
} from "./lib.js";

const RUNS = Number(process.env.RTBENCH_ANCHOR_RUNS ?? 3);
const POLL_CONNECTIONS = 100;
const POLL_SECONDS = 8;
const SUBSCRIBERS = 2000;
const CHANNELS = 20;
const RATE = 100; // messages/s over all channels: 10,000 deliveries/s
const PUBLISH_SECONDS = 10;

async function pollRun() {
  const server = await startServer("reference");
  try {
    const rtbench = await runJson(1, "bench/anchors/poll-load.js", [
      server.url,
      String(POLL_CONNECTIONS),
      "1",
      String(POLL_SECONDS),
    ]);
    const autocannon = await runJson(1, "bench/anchors/autocannon-load.js", [
      `${server.url}/api/messages?channel=anchor-poll-0&since=0`,
      String(POLL_CONNECTIONS),
      String(POLL_SECONDS),
    ]);
    return {
      rtbench: { ...rtbench, pollsPerCpuSecond: rtbench.requests / (rtbench.cpuMs / 1000) },
      autocannon: {
        ...autocannon,
        pollsPerCpuSecond: autocannon.requests / (autocannon.cpuMs / 1000),
      },
    };
  } finally {
    await server.stop();
  }
}

/** One server kind under one kind of subscribers: CPU per delivery on both sides. */
async function deliveryRun(kind, subscribers) {
  const server = await startServer(kind);
  try {
    const worker =
      subscribers === "rtbench"
        ? await startWorker("bench/anchors/rtbench-subscribers.js", [
            server.url,
            String(SUBSCRIBERS),
            String(CHANNELS),
          ])
        : await startWorker("bench/anchors/ws-subscribers.js", [
            server.wsTemplate,
            String(SUBSCRIBERS),
            String(CHANNELS),
          ]);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    worker.start();
    const serverCpuStart = cpuSplitOf(server.pids());
    const published = await publishFor(server, CHANNELS, RATE, PUBLISH_SECONDS);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const serverCpuEnd = cpuSplitOf(server.pids());
    const serverUserMs = serverCpuEnd.userMs - serverCpuStart.userMs;
    const serverSystemMs = serverCpuEnd.systemMs - serverCpuStart.systemMs;
    const result = await worker.stop();
    await worker.done();
    return {
      server: kind,
      subscribers,
      ...published,
      expected: published.published * (SUBSCRIBERS / CHANNELS),
      received: result.received,
      generatorUsPerDelivery: (result.cpuMs * 1000) / result.received,
      serverUsPerDelivery: ((serverUserMs + serverSystemMs) * 1000) / result.received,
      serverUserUsPerDelivery: (serverUserMs * 1000) / result.received,
      serverSystemUsPerDelivery: (serverSystemMs * 1000) / result.received,
    };
  } finally {
    await server.stop();
  }
}

export async function runAnchors(outDir) {
  const info = machine();
  process.stderr.write(`anchors: ${JSON.stringify(info)}\n`);
  const runs = { polls: [], deliveries: [], coordinator: [], slowPolls: [] };
  // RTBENCH_ANCHORS=reference/ws,naive/ws runs only those delivery arms, and no polls;
  // coordinator and slow-poll name the two arms of anchors/coordinator.js.
  const only = process.env.RTBENCH_ANCHORS?.split(",");
  for (let r = 0; r < RUNS; r++) {
    if (!only) {
      process.stderr.write(`anchors: run ${r + 1}/${RUNS}: polls\n`);
      runs.polls.push(await pollRun());
    }
    // Which arm goes first alternates run by run.
    if (!only || only.includes("slow-poll")) {
      process.stderr.write(`anchors: run ${r + 1}/${RUNS}: slow polls\n`);
      runs.slowPolls.push(await slowPollRun(r % 2 === 0));
    }
    if (!only || only.includes("coordinator")) {
      process.stderr.write(`anchors: run ${r + 1}/${RUNS}: coordinator and bare publisher\n`);
      runs.coordinator.push(await coordinatorRun(r % 2 === 0));
    }
    const arms = [
      ["reference", "ws"],
      ["reference", "rtbench"],
      ["naive", "ws"],
      ...(nchanInstalled ? [["nchan", "ws"]] : []),
    ].filter(([kind, subscribers]) => !only || only.includes(`${kind}/${subscribers}`));
    // Rotate the order per run: no arm always goes first.
    for (let i = 0; i < arms.length; i++) {
      const [kind, subscribers] = arms[(i + r) % arms.length];
      process.stderr.write(
        `anchors: run ${r + 1}/${RUNS}: ${kind} server, ${subscribers} subscribers\n`,
      );
      runs.deliveries.push({ run: r, ...(await deliveryRun(kind, subscribers)) });
    }
  }
  info.loadAverageAtEnd = (await import("node:os")).loadavg().map((n) => +n.toFixed(2));
  if (only) {
    // A subset has no report of its own: its runs, as measured.
    writeFileSync(
      join(outDir, "anchors.json"),
      `${JSON.stringify({ machine: info, runs }, null, 2)}\n`,
    );
    process.stdout.write(`${JSON.stringify(runs, null, 1)}\n`);
    process.stdout.write(`\n${coordinatorRows(runs).join("\n")}\n`);
    return;
  }
  const report = renderAnchors(info, runs);
  writeFileSync(
    join(outDir, "anchors.json"),
    `${JSON.stringify({ machine: info, runs }, null, 2)}\n`,
  );
  writeFileSync(join(outDir, "anchors.md"), report);
  process.stdout.write(`\n${report}`);
}

function arm(runs, server, subscribers) {
  return runs.deliveries.filter((d) => d.server === server && d.subscribers === subscribers);
}

/** Per-run ratios of two arms (run i of one against run i of the other). */
function ratios(a, b, field) {
  return a.map((x, i) => x[field] / b[i][field]);
}

/** The table's header and the rows of the coordinator and slow-poll arms (those that ran). */
export function coordinatorRows(runs) {
  const lines = ["| measure | rtbench | anchor | ratio (rtbench / anchor) |", "|---|---|---|---|"];
  /** One row: rtbench's runs and the anchor's, run by run, on `field` (0 decimals). */
  const row = (measure, ours, anchor, theirs, field) =>
    lines.push(
      `| ${measure} | ${spread(
        ours.map((r) => r[field]),
        0,
      )} | ${anchor} ${spread(
        theirs.map((r) => r[field]),
        0,
      )} | ${spread(ratios(ours, theirs, field))} |`,
    );
  const slow = runs.slowPolls ?? [];
  if (slow.length > 0) {
    row(
      `short polls per generator CPU-second, ${SLOW_POLL.clients} clients polling every ${SLOW_POLL.intervalMs} ms`,
      slow.map((p) => p.rtbench),
      `autocannon, ${SLOW_POLL.clients} connections at 1 request/s each`,
      slow.map((p) => p.autocannon),
      "pollsPerCpuSecond",
    );
  }
  const coordinator = runs.coordinator ?? [];
  if (coordinator.length > 0) {
    row(
      `coordinator CPU µs per publish (parent of \`rtbench run\`, ${COORDINATOR.clients} WebSocket clients, ${COORDINATOR.rate}/s over ${COORDINATOR.channels} channels)`,
      coordinator.map((c) => c.rtbench),
      "bare publisher (same schedule and request)",
      coordinator.map((c) => c.bare),
      "usPerPublish",
    );
  }
  return lines;
}

export function renderAnchors(info, runs) {
  const rt = runs.polls.map((p) => p.rtbench.pollsPerCpuSecond);
  const ac = runs.polls.map((p) => p.autocannon.pollsPerCpuSecond);
  const refWs = arm(runs, "reference", "ws");
  const refRt = arm(runs, "reference", "rtbench");
  const naive = arm(runs, "naive", "ws");
  const nchan = arm(runs, "nchan", "ws");
  const lines = [];
  lines.push(`# Anchors (${runs.polls.length} runs each, median and range)`);
  lines.push("");
  lines.push(
    `Machine: ${info.cpuModel}, ${info.cores} cores, Node ${info.node}; ${info.pinned ? "server pinned to core 0, load to core 1" : "not pinned"}; load average ${info.loadAverageAtStart.join(" ")} at start, ${info.loadAverageAtEnd?.join(" ")} at end.`,
  );
  lines.push("");
  lines.push("| measure | rtbench | anchor | ratio (rtbench / anchor) |");
  lines.push("|---|---|---|---|");
  lines.push(
    `| short polls per generator CPU-second, ${POLL_CONNECTIONS} connections | ${spread(rt, 0)} | autocannon ${spread(ac, 0)} | ${spread(
      ratios(
        runs.polls.map((p) => p.rtbench),
        runs.polls.map((p) => p.autocannon),
        "pollsPerCpuSecond",
      ),
    )} |`,
  );
  lines.push(
    `| generator CPU µs per WebSocket delivery, ${SUBSCRIBERS} subscribers | ${spread(refRt.map((d) => d.generatorUsPerDelivery))} | minimal ws subscriber ${spread(refWs.map((d) => d.generatorUsPerDelivery))} | ${spread(ratios(refRt, refWs, "generatorUsPerDelivery"))} |`,
  );
  lines.push(
    `| server CPU µs per WebSocket delivery (reference server) | ${spread(refWs.map((d) => d.serverUsPerDelivery))} | naive Node broadcast ${spread(naive.map((d) => d.serverUsPerDelivery))} | ${spread(ratios(refWs, naive, "serverUsPerDelivery"))} |`,
  );
  lines.push(...coordinatorRows(runs).slice(2));
  if (nchan.length > 0) {
    lines.push(
      `| server CPU µs per WebSocket delivery (reference server) | ${spread(refWs.map((d) => d.serverUsPerDelivery))} | Nchan (nginx, 1 worker) ${spread(nchan.map((d) => d.serverUsPerDelivery))} | ${spread(ratios(refWs, nchan, "serverUsPerDelivery"))} |`,
    );
  }
  lines.push("");
  lines.push(
    "Server CPU µs per delivery split into user (the server's own code) and system (the kernel, mostly the socket write on loopback):",
  );
  lines.push("");
  lines.push("| server | user | system | total |");
  lines.push("|---|---|---|---|");
  for (const [label, runsOfArm] of [
    ["reference server", refWs],
    ["naive Node broadcast", naive],
    ...(nchan.length > 0 ? [["Nchan (nginx, 1 worker)", nchan]] : []),
  ]) {
    lines.push(
      `| ${label} | ${spread(runsOfArm.map((d) => d.serverUserUsPerDelivery))} | ${spread(runsOfArm.map((d) => d.serverSystemUsPerDelivery))} | ${spread(runsOfArm.map((d) => d.serverUsPerDelivery))} |`,
    );
  }
  lines.push("");
  lines.push(
    `Deliveries: ${RATE} messages/s over ${CHANNELS} channels for ${PUBLISH_SECONDS} s, ${SUBSCRIBERS / CHANNELS} subscribers per channel; received/expected per arm: ${runs.deliveries.map((d) => `${d.server}/${d.subscribers} ${d.received}/${d.expected}`).join(", ")}.`,
  );
  lines.push(
    `Polls: median requests/s of the run, rtbench ${median(runs.polls.map((p) => p.rtbench.requests / (p.rtbench.wallMs / 1000))).toFixed(0)}, autocannon ${median(runs.polls.map((p) => p.autocannon.requests / (p.autocannon.wallMs / 1000))).toFixed(0)}.`,
  );
  return `${lines.join("\n")}\n`;
}
