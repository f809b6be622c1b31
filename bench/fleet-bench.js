// What the bench scripts that drive a shard's Fleet directly share: the
// start message a shard would get (a window that outlasts the run, the
// default reconnect policy), and a reference server in a process of its own,
// with TLS from a throwaway CA when asked. Needs dist/.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { monoMs } from "../dist/src/util/clock.js";
import { freePort } from "../dist/src/util/net.js";
import { createThrowawayCertificates } from "../dist/src/util/throwaway-ca.js";

/**
 * A shard's start message for `count` clients of one protocol, client i on
 * `channelOf(i)`; connected over `rampUpMs`, measured for ten minutes (the
 * fleet keeps a per-second timeline of its window).
 */
export function fleetSpec({
  protocol,
  baseUrl,
  count,
  channelOf,
  firstUser = 0,
  rampUpMs,
  settings = {},
  tls = null,
  watchdogIntervals = 0,
}) {
  const now = monoMs();
  return {
    type: "start",
    protocol,
    clients: Array.from({ length: count }, (_, index) => ({
      index,
      baseUrl,
      channel: channelOf(index),
      user: `u${firstUser + index}`,
    })),
    totalClients: count,
    rampStartMs: now,
    rampUpMs,
    measureStartMs: now,
    measureEndMs: now + 10 * 60_000,
    drainEndMs: now + 10 * 60_000 + 1000,
    settings,
    urls: [baseUrl],
    reconnect: {
      initialDelayMs: 500,
      maxDelayMs: 10_000,
      multiplier: 2,
      jitter: "full",
      maxRetries: 20,
      resume: true,
      watchdogIntervals,
      honorServerRetry: true,
    },
    heartbeatIntervalMs: 30_000,
    seed: 1,
    tls,
  };
}

/**
 * The reference server on a free port, in a process of its own; with `tls`,
 * behind a throwaway CA whose certificate `clientTls` makes the clients trust.
 * `stop()` ends it and removes the certificate files.
 */
export async function startBenchServer({ tls = false, args = [] } = {}) {
  const certs = tls ? createThrowawayCertificates() : null;
  const dir = mkdtempSync(join(tmpdir(), "rtbench-bench-"));
  const tlsArgs = [];
  if (certs !== null) {
    writeFileSync(join(dir, "cert.pem"), certs.certPem, { mode: 0o600 });
    writeFileSync(join(dir, "key.pem"), certs.keyPem, { mode: 0o600 });
    tlsArgs.push("--tls-cert", join(dir, "cert.pem"), "--tls-key", join(dir, "key.pem"));
  }
  const port = await freePort();
  const server = spawn(
    process.execPath,
    ["dist/reference-server/main.js", "--port", String(port), ...tlsArgs, ...args],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  await new Promise((resolve) => server.stdout.once("data", resolve));
  return {
    baseUrl: `${tls ? "https" : "http"}://127.0.0.1:${port}`,
    caPem: certs?.caPem ?? null,
    clientTls:
      certs === null ? null : { ca: certs.caPem, insecure: false, sessionResumption: true },
    stop() {
      server.kill("SIGTERM");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
