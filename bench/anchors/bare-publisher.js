#!/usr/bin/env node
// The bare publisher: the anchor for rtbench's coordinator (the parent of
// `rtbench run`). It sends the coordinator's schedule (message i due at
// start + i/rate, channels in turn) with the same request as rtbench's HTTP
// publisher (POST /api/messages?channel=C, JSON {channel, body}, the stamped
// body padded to payloadBytes, an Idempotency-Key, one undici Pool), reads
// each answer's id, and does nothing else. Publishes for warmupSeconds, then
// measures its own CPU over windowSeconds; prints
// {published, failed, windowPublished, cpuMs, userMs, systemMs, wallMs} as JSON.
//
//   node bench/anchors/bare-publisher.js <baseUrl> <channels> <ratePerSec> <warmupSeconds> <windowSeconds> [payloadBytes=256]
import { Pool } from "undici";

const [baseUrl, channelsArg, rateArg, warmupArg, windowArg, payloadArg = "256"] =
  process.argv.slice(2);
const channels = Number(channelsArg);
const rate = Number(rateArg);
const warmupMs = Number(warmupArg) * 1000;
const windowMs = Number(windowArg) * 1000;
const payloadBytes = Number(payloadArg);

const pool = new Pool(new URL(baseUrl).origin, { connections: 1000, pipelining: 1 });
const PAD = "the quick brown fox jumps over the lazy dog ".repeat(1 + payloadBytes / 40);
let failed = 0;
let inFlight = 0;

async function publish(c, seq, sch) {
  const channel = `anchor-${c}`;
  const now = performance.now();
  const body = { k: `${channel}:${seq}`, seq, sch, snt: now };
  body.pad = PAD.slice(0, Math.max(0, payloadBytes - JSON.stringify(body).length - 9));
  inFlight++;
  try {
    const response = await pool.request({
      method: "POST",
      path: `/api/messages?channel=${channel}`,
      headers: { "content-type": "application/json", "idempotency-key": `bare:${body.k}` },
      body: JSON.stringify({ channel, body }),
    });
    const text = await response.body.text();
    if (response.statusCode !== 201 || JSON.parse(text).id === undefined) failed++;
  } catch {
    failed++;
  } finally {
    inFlight--;
  }
}

const startMs = performance.now() + 100;
// From the durations, not from (startMs + durations) - startMs: that
// difference of fractional clock readings can come out a hair over the span
// and round up to one message more than the schedule holds.
const total = Math.ceil(((warmupMs + windowMs) * rate) / 1000);
let startCpu = null;
let windowStartIndex = 0;
let windowStartWall = 0;
let result = null;
const windowEnd = setTimeout(
  () => {
    const cpu = process.cpuUsage(startCpu);
    result = {
      userMs: cpu.user / 1000,
      systemMs: cpu.system / 1000,
      cpuMs: (cpu.user + cpu.system) / 1000,
      wallMs: performance.now() - windowStartWall,
    };
  },
  startMs + warmupMs + windowMs - performance.now(),
);
setTimeout(
  () => {
    startCpu = process.cpuUsage();
    windowStartWall = performance.now();
    windowStartIndex = next;
  },
  startMs + warmupMs - performance.now(),
);
let next = 0;
while (next < total) {
  const now = performance.now();
  const due = Math.min(total, Math.floor(((now - startMs) * rate) / 1000) + 1);
  while (next < due) {
    void publish(next % channels, Math.floor(next / channels) + 1, startMs + (next * 1000) / rate);
    next++;
  }
  const wait = startMs + (next * 1000) / rate - performance.now();
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, wait)));
}
while (result === null || inFlight > 0) await new Promise((resolve) => setTimeout(resolve, 20));
clearTimeout(windowEnd);
await pool.destroy();
process.stdout.write(
  `${JSON.stringify({ published: total, failed, windowPublished: (rate * windowMs) / 1000, ...result, windowStartIndex })}\n`,
);
