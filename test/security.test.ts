import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { type RunningServer, startReferenceServer } from "../reference-server/index.js";
import { resultFileStem } from "../src/cli/measure.js";
import { createClientContext } from "../src/clients/types.js";
import { startCommandedServers } from "../src/load/servers/commanded.js";
import { parseScenario } from "../src/scenario/load.js";
import { reference } from "../src/targets/reference.js";
import { compileTemplate, fillShellTemplate } from "../src/targets/template.js";
import { redactStrings, scenarioSecrets } from "../src/util/redact.js";
import { RTBENCH_BIN, runRtbench } from "./helpers/cli.js";
import { waitFor } from "./helpers/wait.js";
import { type Frame, WsCollector, wsUrl } from "./server-helpers.js";

/**
 * Issue 25, "Secrets reach files" and who may call the reference server:
 * origins, the token, secrets in every file, result file names, shell
 * placeholders, WebSocket publish bursts, and `init` through a symlink.
 */

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "rtbench-security-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const servers: RunningServer[] = [];
const sockets: WebSocket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.terminate();
  await Promise.all(servers.splice(0).map((server) => server.close()));
});
async function start(options: Parameters<typeof startReferenceServer>[0] = {}) {
  const server = await startReferenceServer(options);
  servers.push(server);
  return server;
}

const TOKEN = "tok-Secret-789";

function post(url: string, headers: Record<string, string>, body: string) {
  return fetch(`${url}/api/messages`, { method: "POST", headers, body });
}

/** The HTTP status a WebSocket upgrade was answered with (101 when it opened). */
function upgradeStatus(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    sockets.push(ws);
    ws.once("open", () => resolve(101));
    ws.once("unexpected-response", (_req, res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    ws.once("error", reject);
  });
}

describe("reference server: browser origins", () => {
  it("refuses a cross-origin text/plain publish and WebSocket, even from a page that looks like its own origin; lets in listed ones and non-browsers", async () => {
    const server = await start({ allowOrigins: ["https://app.example"] });
    const body = JSON.stringify({ channel: "room", body: { n: 1 } });
    // What a page on another site can send without a preflight.
    const foreign = await post(
      server.url,
      { "content-type": "text/plain", origin: "https://evil.example" },
      body,
    );
    expect(foreign.status).toBe(403);
    expect(((await foreign.json()) as { error: string }).error).toContain("https://evil.example");
    expect((await post(server.url, { "content-type": "application/json" }, body)).status).toBe(201);
    // The server serves no pages: a page claiming its origin is one whose DNS name was rebound.
    const own = { "content-type": "application/json", origin: server.url };
    expect((await post(server.url, own, body)).status).toBe(403);
    const listed = { "content-type": "application/json", origin: "https://app.example" };
    expect((await post(server.url, listed, body)).status).toBe(201);

    const ws = wsUrl(server.url, "/ws/chat/room");
    expect(await upgradeStatus(ws, { origin: "https://evil.example" })).toBe(403);
    expect(await upgradeStatus(ws, { origin: "null" })).toBe(403);
    expect(await upgradeStatus(ws, { origin: "https://app.example" })).toBe(101);
    expect(await upgradeStatus(ws, {})).toBe(101);
  });
});

describe("reference server: the token", () => {
  it("is required on publish, members and admin, not on reads; WebSocket publish frames need it in the upgrade", async () => {
    const server = await start({ auth: TOKEN, admin: true, fanout: "tiered" });
    const body = JSON.stringify({ channel: "room", body: { n: 1 } });
    const json = { "content-type": "application/json" };
    const bearer = { ...json, authorization: `Bearer ${TOKEN}` };
    const none = await post(server.url, json, body);
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toContain("Bearer");
    expect((await post(server.url, { ...json, authorization: "Bearer wrong" }, body)).status).toBe(
      401,
    );
    expect((await post(server.url, bearer, body)).status).toBe(201);
    const members = (headers: Record<string, string>) =>
      fetch(`${server.url}/api/members/room`, {
        method: "PUT",
        headers,
        body: JSON.stringify({ users: ["u1"] }),
      });
    expect((await members(json)).status).toBe(401);
    expect((await members(bearer)).status).toBe(200);
    const drop = (headers: Record<string, string>) =>
      fetch(`${server.url}/admin/drop`, { method: "POST", headers, body: "{}" });
    expect((await drop(json)).status).toBe(401);
    expect((await drop(bearer)).status).toBe(200);
    // Reading stays open.
    expect((await fetch(`${server.url}/api/messages?channel=room&since=0`)).status).toBe(200);

    const open = await WsCollector.open(wsUrl(server.url, "/ws/chat/room"));
    open.ws.send(JSON.stringify({ type: "publish", ref: 1, body: { n: 2 } }));
    const refused = await open.waitFor((f: Frame) => f.type === "error", "the refusal");
    expect(refused).toMatchObject({ ref: 1 });
    expect(open.ws.readyState).toBe(WebSocket.OPEN);
    open.close();
    const allowed = await WsCollector.open(wsUrl(server.url, "/ws/chat/room"), {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    allowed.ws.send(JSON.stringify({ type: "publish", ref: 2, body: { n: 3 } }));
    expect(await allowed.waitFor((f: Frame) => f.type === "ack", "the ack")).toMatchObject({
      ref: 2,
      id: 2,
    });
    allowed.close();
  });
});

/** The command lines of `pid`'s children, from /proc. */
async function childCommandLines(pid: number): Promise<string[]> {
  const lines: string[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, "utf8");
      const parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (parent === pid) lines.push(await readFile(`/proc/${entry}/cmdline`, "utf8"));
    } catch {
      // gone meanwhile
    }
  }
  return lines;
}

describe("rtbench's publishers and the token", () => {
  it.each(["http", "websocket"] as const)("publish via %s sends it", async (via) => {
    const server = await start({ auth: TOKEN });
    const context = createClientContext();
    const options = { connections: 1, context, via };
    const without = reference.publisher({}, server.url, options);
    await expect(without.publish("room", { n: 1 })).rejects.toThrow(/401|token/);
    await without.close();
    const withToken = reference.publisher({}, server.url, { ...options, auth: TOKEN });
    expect(await withToken.publish("room", { n: 2 })).toEqual({ id: "1" });
    await withToken.close();
  });
});

describe("rtbench serve --auth", () => {
  it("starts instances that require the token, given in the environment (not on their command line)", async () => {
    const { spawn } = await import("node:child_process");
    const cli = spawn(process.execPath, [RTBENCH_BIN, "serve", "--port", "0"], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, RTBENCH_AUTH: TOKEN },
    });
    let stdout = "";
    cli.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    cli.stderr.resume();
    const exited = new Promise((resolve) => cli.once("exit", resolve));
    try {
      await waitFor(() => /^http:\S+\n/.test(stdout), "serve's URL line", 20_000);
      const url = stdout.trim();
      const body = JSON.stringify({ channel: "room", body: 1 });
      const json = { "content-type": "application/json" };
      expect((await post(url, json, body)).status).toBe(401);
      expect((await post(url, { ...json, authorization: `Bearer ${TOKEN}` }, body)).status).toBe(
        201,
      );
      // What every local user can read of the instance: its command line.
      const lines = await childCommandLines(cli.pid as number);
      expect(lines.length).toBeGreaterThan(0);
      for (const line of lines) expect(line).not.toContain(TOKEN);
    } finally {
      cli.kill("SIGTERM");
      await exited;
    }
  }, 30_000);
});

describe("reference server: a WebSocket publish burst with a bad frame", () => {
  it("acknowledges every message it stored before refusing the bad frame, and stores nothing after it", async () => {
    const server = await start();
    const socket = await WsCollector.open(wsUrl(server.url, "/ws/chat/burst"));
    // One write, so the server reads every frame before any publish settles.
    const raw = (socket.ws as unknown as { _socket: import("node:net").Socket })._socket;
    raw.cork();
    for (let ref = 1; ref <= 5; ref++) {
      socket.ws.send(JSON.stringify({ type: "publish", ref, body: { ref } }));
    }
    socket.ws.send(JSON.stringify({ type: "nonsense" }));
    socket.ws.send(JSON.stringify({ type: "publish", ref: 6, body: { ref: 6 } }));
    raw.uncork();
    await socket.waitForClose();
    const acks = socket.frames.filter((f) => f.type === "ack").map((f) => f.ref);
    expect(acks).toEqual([1, 2, 3, 4, 5]);
    expect(socket.frames.some((f) => f.type === "error")).toBe(true);
    const stored = (await (
      await fetch(`${server.url}/api/messages?channel=burst&since=0`)
    ).json()) as { messages: { body: { ref: number } }[] };
    expect(stored.messages.map((m) => m.body.ref)).toEqual([1, 2, 3, 4, 5]);
  });
});

describe("result files", () => {
  it("are named from the scenario name made safe", () => {
    expect(resultFileStem("quickstart")).toBe("quickstart");
    expect(resultFileStem("../../X")).toBe("____X");
    expect(resultFileStem("a/b c")).toBe("a_b_c");
    expect(resultFileStem("..")).toBe("_");
    expect(resultFileStem("")).toBe("scenario");
    for (const name of ["../../X", "a/b", "/etc/passwd", "..\\..\\w", ".hidden"]) {
      const stem = resultFileStem(name);
      expect(stem, name).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/);
      expect(stem, name).not.toContain("..");
    }
  });

  it("a run keeps the server token, a target URL's password and publish headers out of the result, the HTML page and the summary; the file stays in --out", async () => {
    const target = await start();
    const [host, port] = new URL(target.url).host.split(":");
    const out = join(dir, "out", "results");
    await mkdir(join(dir, "out"));
    const html = join(dir, "out", "page.html");
    const summary = join(dir, "out", "summary.md");
    const scenarioFile = join(dir, "secret-target.yaml");
    await writeFile(
      scenarioFile,
      `name: ../../escaped/target
target:
  url: http://alice:pw-Secret-123@${host}:${port}
  protocol: custom
  publish: { path: "/api/messages", body: '{"channel":"{channel}","body":{body}}', headers: { x-api-key: key-Secret-456 } }
  websocket: { path: "/ws/chat/{channel}" }
  message: { body: "/body", id: "/id" }
protocols: [websocket]
clients: { count: 2, channels: 1, rampUp: 100ms, shards: 1 }
publish: { rate: 20/s }
duration: 1s
warmup: 200ms
drain: 500ms
`,
    );
    const run = await runRtbench([
      "run",
      scenarioFile,
      "--out",
      out,
      "--html",
      html,
      "--summary",
      summary,
    ]);
    expect(run.code, run.stderr).toBe(0);
    const files = await readdir(out);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^____escaped_target-.*\.json$/);
    expect(existsSync(join(dir, "escaped"))).toBe(false);
    const written = [
      await readFile(join(out, files[0] as string), "utf8"),
      await readFile(html, "utf8"),
      await readFile(summary, "utf8"),
      run.stdout + run.stderr,
    ];
    const result = JSON.parse(written[0] as string) as {
      scenario: { text: string };
      protocols: Record<string, { delivered: number }>;
    };
    expect(result.protocols.websocket?.delivered).toBeGreaterThan(0);
    expect(result.scenario.text).toContain("x-api-key: ***");
    for (const text of written) {
      expect(text).not.toContain("pw-Secret-123");
      expect(text).not.toContain("key-Secret-456");
    }
  }, 60_000);

  it("a run against a server with a token sends it (members, WebSocket publishes and the drop fault pass) and writes it nowhere", async () => {
    const out = join(dir, "auth-results");
    const html = join(dir, "auth.html");
    const scenarioFile = join(dir, "auth.yaml");
    await writeFile(
      scenarioFile,
      `name: with/slash
server: { auth: ${TOKEN}, fanout: tiered }
protocols: [websocket]
clients: { count: 4, channels: 1, rampUp: 100ms, shards: 1, members: 8 }
publish: { rate: 20/s, via: websocket }
duration: 1500ms
warmup: 200ms
drain: 500ms
faults: [{ at: 1s, action: drop, fraction: 1 }]
`,
    );
    const run = await runRtbench(["run", scenarioFile, "--out", out, "--html", html]);
    expect(run.code, run.stderr).toBe(0);
    const files = await readdir(out);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^with_slash-/);
    const text = await readFile(join(out, files[0] as string), "utf8");
    const result = JSON.parse(text) as {
      protocols: Record<string, { published: number; publishFailed: number; lost: number }>;
    };
    const ws = result.protocols.websocket;
    expect(ws?.published).toBeGreaterThan(10);
    expect(ws?.publishFailed).toBe(0);
    expect(text).toContain('"drop"');
    for (const written of [text, await readFile(html, "utf8"), run.stdout + run.stderr]) {
      expect(written).not.toContain(TOKEN);
    }
  }, 60_000);
});

describe("redaction", () => {
  it("takes the secrets from the scenario and replaces them in text, not in encoded data", () => {
    const secrets = scenarioSecrets({
      server: { auth: "server-token-1" },
      variants: [{ server: { auth: "variant-token-2" } }],
      target: {
        urls: ["http://bob:p%40ss-word@127.0.0.1:9000"],
        wire: { publish: { headers: { "Content-Type": "application/json", "x-key": "k3y" } } },
      },
    });
    expect(secrets.sort()).toEqual(
      ["k3y", "p%40ss-word", "p@ss-word", "server-token-1", "variant-token-2"].sort(),
    );
    const result = {
      scenario: { text: "auth: server-token-1\nx-key: k3y", sha256: "00k3y00" },
      error: "POST http://bob:p%40ss-word@127.0.0.1:9000/x failed (p@ss-word)",
      latency: { hdr: "AAk3yAA" },
    };
    expect(redactStrings(result, secrets)).toEqual({
      scenario: { text: "auth: ***\nx-key: ***", sha256: "00k3y00" },
      error: "POST http://***@127.0.0.1:9000/x failed (***)",
      latency: { hdr: "AAk3yAA" },
    });
  });
});

describe("target.command placeholders", () => {
  it("are quoted for the shell wherever they stand", () => {
    const values = { dir: "/tmp/a b/$(touch x)'q" };
    const fill = (line: string) => fillShellTemplate(compileTemplate(line), values);
    expect(fill("ls {dir}/f")).toBe(`ls '/tmp/a b/$(touch x)'\\''q'/f`);
    expect(fill(`ls "{dir}"`)).toBe(`ls "/tmp/a b/\\$(touch x)'q"`);
    expect(fill(`ls '{dir}'`)).toBe(`ls '/tmp/a b/$(touch x)'\\''q'`);
  });

  it("a scenario directory named $(touch X) is a path, not a command", async () => {
    const marker = join(dir, "PWNED");
    const scenarioDir = join(dir, `$(touch ${marker})`);
    await mkdir(scenarioDir, { recursive: true });
    // The command prints the directory it was given to a file, and serves nothing useful.
    const seen = join(dir, "seen.txt");
    const scenario = parseScenario(
      `target:
  protocol: reference
  command: "printf %s {scenarioDir} > ${seen}; exec node -e 'require(\\"http\\").createServer((q,s)=>s.end()).listen({port})'"
protocols: [websocket]
`,
      join(scenarioDir, "s.yaml"),
    );
    const command = scenario.target?.command;
    expect(command?.scenarioDir).toBe(scenarioDir);
    const set = await startCommandedServers({
      command: command as NonNullable<typeof command>,
      placeholders: {},
      log: () => {},
    });
    try {
      await waitFor(() => existsSync(seen), "the command to run");
      expect(await readFile(seen, "utf8")).toBe(scenarioDir);
      expect(existsSync(marker)).toBe(false);
    } finally {
      await set.stop();
    }
  }, 30_000);
});

describe("rtbench init", () => {
  it("never writes through a symbolic link, even with --force", async () => {
    const project = await mkdtemp(join(tmpdir(), "rtbench-init-link-"));
    try {
      const victim = join(project, "victim.txt");
      await writeFile(victim, "keep me\n");
      await symlink(victim, join(project, "scenario.yaml"));
      // A dangling link is refused too: writing would create its target.
      await symlink(join(project, "created-elsewhere"), join(project, "other.yaml"));
      const { spawnSync } = await import("node:child_process");
      for (const args of [["init"], ["init", "--force"], ["init", "other", "--force"]]) {
        const run = spawnSync(process.execPath, [RTBENCH_BIN, ...args], {
          cwd: project,
          encoding: "utf8",
        });
        expect(run.status, args.join(" ")).toBe(2);
        expect(run.stderr).toContain("is a symbolic link");
      }
      expect(await readFile(victim, "utf8")).toBe("keep me\n");
      expect(existsSync(join(project, "created-elsewhere"))).toBe(false);
    } finally {
      await rm(project, { recursive: true, force: true });
    }
  });
});
