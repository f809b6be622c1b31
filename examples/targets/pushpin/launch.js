#!/usr/bin/env node
// Starts Pushpin and its GRIP origin (origin.js) as one rtbench target
// instance (scenarios/targets/pushpin.yaml):
//
//   node examples/targets/pushpin/launch.js --port {port} --dir {dir}
//     [--keep-alive 5]   seconds between heartbeats on streams and WebSockets
//
// Pushpin listens for clients on 127.0.0.1:{port}; its publish API and the
// origin take free loopback ports of their own. The config (pushpin.conf
// here, filled in) and the routes file are written into {dir}, with every
// socket between Pushpin's processes in {dir}/run. Publishes reach Pushpin
// through the origin (POST /publish/ on {port}, routed to the origin, which
// keeps each message for resume and passes the request on to the publish
// API), as an application behind Pushpin publishes. SIGTERM or SIGINT stops
// Pushpin, then this process; when Pushpin exits, so does this process.
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { createServer as createTcpServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createOrigin } from "./origin.js";

const here = dirname(fileURLToPath(import.meta.url));
const { values: flags } = parseArgs({
  options: {
    port: { type: "string" },
    dir: { type: "string" },
    "keep-alive": { type: "string", default: "5" },
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
const origin = createServer(
  createOrigin({
    control: `http://127.0.0.1:${controlPort}`,
    keepAliveSeconds: Number(flags["keep-alive"]),
  }),
);
await new Promise((resolve) => origin.listen(0, "127.0.0.1", resolve));
const originPort = origin.address().port;

// Only this script's names are filled: Pushpin fills its own ({rundir}, ...).
const config = readFileSync(join(here, "pushpin.conf"), "utf8")
  .replaceAll("{port}", flags.port)
  .replaceAll("{dir}", flags.dir)
  .replaceAll("{controlPort}", String(controlPort));
writeFileSync(join(flags.dir, "pushpin.conf"), config);
writeFileSync(join(flags.dir, "routes"), `* 127.0.0.1:${originPort},over_http\n`);

// In this process group, so rtbench's signals and /proc samples reach Pushpin's processes too.
const pushpin = spawn(flags.pushpin, ["--config", join(flags.dir, "pushpin.conf")], {
  stdio: ["ignore", "ignore", "inherit"],
});
pushpin.on("error", (error) => {
  process.stderr.write(`launch.js: cannot run ${flags.pushpin}: ${error.message}\n`);
  process.exit(1);
});
pushpin.on("exit", (code, signal) => {
  origin.close();
  process.exit(code ?? (signal ? 1 : 0));
});

for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => {
    if (pushpin.exitCode === null) pushpin.kill("SIGTERM");
    else process.exit(0);
  });
}
