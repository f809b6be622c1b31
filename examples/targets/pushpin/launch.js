#!/usr/bin/env node
// Starts Pushpin and its GRIP origin (origin.js) as one rtbench target
// instance (scenarios/targets/pushpin.yaml):
//
//   node examples/targets/pushpin/launch.js --port {port} --dir {dir}
//     [--keep-alive 5]   seconds between heartbeats on streams and WebSockets
//     [--runner]         start Pushpin with its own runner (see below)
//     [--log-level 1]    Pushpin's logs in {dir}/log: 1 warnings, 2 every request
//
// Pushpin listens for clients on 127.0.0.1:{port}; its publish API and the
// origin take free loopback ports of their own. The config (pushpin.conf
// here, filled in) and the routes file are written into {dir}, with every
// socket between Pushpin's processes in {dir}/run. Publishes reach Pushpin
// through the origin (POST /publish/ on {port}, routed to the origin, which
// keeps each message for resume and passes the request on to the publish
// API), as an application behind Pushpin publishes. SIGTERM or SIGINT stops
// Pushpin, then this process; when one of Pushpin's processes exits, the
// others are stopped and this process exits with code 1.
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer as createTcpServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createOriginServer } from "./origin.js";

const here = dirname(fileURLToPath(import.meta.url));
const { values: flags } = parseArgs({
  options: {
    port: { type: "string" },
    dir: { type: "string" },
    "keep-alive": { type: "string", default: "5" },
    runner: { type: "boolean", default: false },
    "log-level": { type: "string", default: "1" },
    pushpin: { type: "string", default: process.env.PUSHPIN ?? "pushpin" },
  },
});
if (!flags.port || !flags.dir) {
  process.stderr.write("usage: launch.js --port <client port> --dir <scratch directory>\n");
  process.exit(2);
}

/** A port free on 127.0.0.1 right now. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createTcpServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const controlPort = await freePort();
const origin = createOriginServer({
  control: `http://127.0.0.1:${controlPort}`,
  keepAliveSeconds: Number(flags["keep-alive"]),
});
await new Promise((resolve) => origin.listen(0, "127.0.0.1", resolve));
const originPort = origin.address().port;

// Only this script's names are filled: Pushpin fills its own ({rundir}, ...).
const config = readFileSync(join(here, "pushpin.conf"), "utf8")
  .replaceAll("{port}", flags.port)
  .replaceAll("{dir}", flags.dir)
  .replaceAll("{controlPort}", String(controlPort));
writeFileSync(join(flags.dir, "pushpin.conf"), config);
writeFileSync(join(flags.dir, "routes"), `* 127.0.0.1:${originPort},over_http\n`);

// Pushpin's services, started here rather than by its runner (`pushpin
// --config`): the runner puts each service in a process group of its own, out
// of reach of rtbench's signals (stop, stall and kill faults) and of its CPU
// and memory samples, which read this process group. These are the command
// lines the runner of Pushpin 1.36 uses (condure for client connections, zurl
// for requests to the origin); `--runner` uses the runner instead.
const run = join(flags.dir, "run");
const log = join(flags.dir, "log");
mkdirSync(run, { recursive: true });
mkdirSync(log, { recursive: true });
const conf = join(flags.dir, "pushpin.conf");
const level = flags["log-level"];
writeFileSync(
  join(run, "zurl.conf"),
  [
    "[General]",
    `in_spec=ipc://${run}/pushpin-zurl-in`,
    `in_stream_spec=ipc://${run}/pushpin-zurl-in-stream`,
    `out_spec=ipc://${run}/pushpin-zurl-out`,
    // The origin is on loopback: Pushpin's requests to its routes skip this policy.
    "defpolicy=allow",
    "deny=127.*,10.*,192.168.*,*.local",
    "max_open_requests=2000",
    "buffer_size=200000",
    "timeout=600",
    "in_hwm=1000",
    "out_hwm=1000",
    "",
  ].join("\n"),
);
const services = flags.runner
  ? [[flags.pushpin, ["--config", conf]]]
  : [
      [
        "condure",
        [
          `--log-level=${level}`,
          `--listen=127.0.0.1:${flags.port},stream`,
          `--zclient-stream=ipc://${run}/pushpin-condure`,
          "--buffer-size=8192",
          "--stream-maxconn=50000",
        ],
      ],
      [
        "zurl",
        [
          `--config=${join(run, "zurl.conf")}`,
          `--logfile=${join(log, "zurl.log")}`,
          `--loglevel=${level}`,
        ],
      ],
      [
        "pushpin-proxy",
        [
          `--config=${conf}`,
          "--ipc-prefix=pushpin-",
          `--logfile=${join(log, "pushpin-proxy.log")}`,
          `--loglevel=${level}`,
          "--quiet-check",
        ],
      ],
      [
        "pushpin-handler",
        [
          `--config=${conf}`,
          "--ipc-prefix=pushpin-",
          `--logfile=${join(log, "pushpin-handler.log")}`,
          `--loglevel=${level}`,
        ],
      ],
    ];

let stopping = false;
const children = services.map(([command, args]) => {
  const child = spawn(command, args, { stdio: ["ignore", "ignore", "inherit"] });
  child.on("error", (error) => {
    process.stderr.write(`launch.js: cannot run ${command}: ${error.message}\n`);
    stop(1);
  });
  // One service gone means the instance is broken: stop the others and say so.
  child.on("exit", (code, signal) => {
    if (!stopping) {
      process.stderr.write(`launch.js: ${command} exited (${signal ?? `code ${code}`})\n`);
      stop(1);
    }
  });
  return child;
});

/** Stops every service (SIGTERM), then this process with `code`. */
function stop(code) {
  if (stopping) return;
  stopping = true;
  origin.close();
  const running = children.filter((child) => child.exitCode === null && child.signalCode === null);
  if (running.length === 0) process.exit(code);
  let left = running.length;
  for (const child of running) {
    child.once("exit", () => {
      if (--left === 0) process.exit(code);
    });
    child.kill("SIGTERM");
  }
}

for (const signal of ["SIGTERM", "SIGINT"]) process.on(signal, () => stop(0));
