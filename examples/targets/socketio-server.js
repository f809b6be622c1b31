#!/usr/bin/env node
// A small Socket.IO chat-style server, as an rtbench target
// (scenarios/targets/socketio.yaml). Clients join a channel by the
// handshake query (?channel=room-1); a publisher emits
// "publish" {channel, body} with an acknowledgement callback, and every
// client in the channel gets the body as a "message" event.
//
//   node examples/targets/socketio-server.js --port 3000
//     [--recovery]            connection state recovery: a client that
//                             reconnects within 2 minutes gets what it missed
//     [--redis redis://...]   the Redis adapter, so several instances share
//                             channels (recovery is not supported with it)
//     [--ping-interval 25000] [--ping-timeout 20000]   engine.io heartbeats, ms
//
// SOCKETIO_RECOVERY=1 and REDIS_URL do the same as the flags.
// GET /healthz answers 200 once the server listens.
import { createServer } from "node:http";
import { parseArgs } from "node:util";

/**
 * socket.io is not one of rtbench's own dependencies (rtbench needs only the
 * client): without it, say how to install it instead of a module-not-found
 * stack.
 */
async function importOrExplain(name) {
  try {
    return await import(name);
  } catch (error) {
    if (error?.code !== "ERR_MODULE_NOT_FOUND" || !String(error.message).includes(`'${name}'`)) {
      throw error;
    }
    process.stderr.write(
      `socketio-server.js needs the ${name} package, which is not installed here: run \`npm install ${name}\` in the project that runs rtbench (in a clone of rtbench, \`npm install\` installs it as a dev dependency)\n`,
    );
    process.exit(2);
  }
}

const { Server } = await importOrExplain("socket.io");

const { values: flags } = parseArgs({
  options: {
    port: { type: "string", default: "3000" },
    host: { type: "string", default: "127.0.0.1" },
    recovery: { type: "boolean", default: process.env.SOCKETIO_RECOVERY === "1" },
    redis: { type: "string", default: process.env.REDIS_URL },
    "ping-interval": { type: "string", default: "25000" },
    "ping-timeout": { type: "string", default: "20000" },
  },
});

const http = createServer((req, res) => {
  if (req.url === "/healthz") {
    res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
    return;
  }
  res.writeHead(404, { "content-type": "application/json" }).end('{"error":"not found"}');
});

const io = new Server(http, {
  serveClient: false,
  pingInterval: Number(flags["ping-interval"]),
  pingTimeout: Number(flags["ping-timeout"]),
  // Missed events are kept in memory for two minutes per disconnected client.
  connectionStateRecovery: flags.recovery ? { maxDisconnectionDuration: 120_000 } : undefined,
});

if (flags.redis) {
  // Imported only when used: one instance needs neither Redis nor the adapter.
  const { createAdapter } = await importOrExplain("@socket.io/redis-adapter");
  const { Redis } = await importOrExplain("ioredis");
  const pub = new Redis(flags.redis);
  const sub = pub.duplicate();
  io.adapter(createAdapter(pub, sub));
}

io.on("connection", (socket) => {
  // A recovered socket is back in its rooms already; joining again is harmless.
  const channel = socket.handshake.query.channel;
  if (typeof channel === "string" && channel !== "") socket.join(channel);

  socket.on("publish", (message, ack) => {
    const reply = typeof ack === "function" ? ack : () => {};
    if (typeof message !== "object" || message === null || typeof message.channel !== "string") {
      reply({ error: "expected {channel, body}" });
      return;
    }
    io.to(message.channel).emit("message", message.body);
    reply({ ok: true });
  });
});

http.listen(Number(flags.port), flags.host, () => {
  console.log(`socket.io server listening on http://${flags.host}:${flags.port}`);
});

// SIGTERM: close every connection (clients see the server going away) and exit.
process.on("SIGTERM", () => {
  io.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
});
