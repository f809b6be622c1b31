import { readFileSync } from "node:fs";
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { createServer as createNetServer, type Server as NetServer, type Socket } from "node:net";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { waitHealthy, waitListening } from "../src/load/servers/health.js";
import { classifyFailure } from "../src/util/failure.js";
import { freePort } from "../src/util/net.js";
import { redactText, splitCredentials } from "../src/util/redact.js";

/**
 * Failure lines say why: each kind of broken target, on a real socket, gets
 * its own words from waitHealthy. Short timeouts keep each case quick.
 */
const servers: (HttpServer | NetServer)[] = [];
const sockets = new Set<Socket>();

async function listen(server: HttpServer | NetServer): Promise<string> {
  servers.push(server);
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  return `http://127.0.0.1:${address.port}`;
}

afterEach(async () => {
  for (const socket of sockets) socket.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

async function failureOf(url: string, timeoutMs = 300): Promise<string> {
  try {
    await waitHealthy([url], timeoutMs);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error("waitHealthy passed");
}

describe("waitHealthy: failure lines say why", () => {
  it("connection refused: nothing listens", async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    expect(await failureOf(url)).toMatch(/did not answer 200 within 300 ms: connection refused$/);
  });

  it("asks the route it is given, and names it when it fails", async () => {
    const url = await listen(
      createHttpServer((req, res) => {
        res.statusCode = req.url === "/ready" ? 200 : 404;
        res.end();
      }),
    );
    await waitHealthy([url], 300, undefined, "/ready");
    expect(await failureOf(url)).toMatch(/\/healthz: HTTP 404: the server has no \/healthz route/);
  });

  it("HTTP status: the server answers 500", async () => {
    const url = await listen(
      createHttpServer((_req, res) => {
        res.statusCode = 500;
        res.end("{}");
      }),
    );
    expect(await failureOf(url)).toMatch(/: HTTP 500$/);
    // The same plain-HTTP server under https://: no TLS there.
    expect(await failureOf(url.replace("http:", "https:"))).toMatch(/: not TLS/);
  });

  it("not HTTP: the server answers garbage", async () => {
    const url = await listen(
      createNetServer((socket) => {
        socket.end("\u0000\u0001 garbage\r\n\r\n");
      }),
    );
    expect(await failureOf(url)).toMatch(/: not HTTP/);
  });

  it("timed out: the server accepts and never answers", async () => {
    const url = await listen(createNetServer(() => {}));
    expect(await failureOf(url)).toMatch(/: timed out$/);
  });

  it("TLS expected: the server speaks TLS and the URL says http://", async () => {
    const dir = join(import.meta.dirname, "fixtures", "tls");
    const url = await listen(
      createHttpsServer(
        { key: readFileSync(join(dir, "key.pem")), cert: readFileSync(join(dir, "cert.pem")) },
        (_req, res) => res.end("ok"),
      ),
    );
    expect(await failureOf(url)).toMatch(/: TLS expected/);
    // With https:// the handshake works, and the self-signed certificate is what fails.
    expect(await failureOf(url.replace("http:", "https:"))).toMatch(
      /: TLS certificate not trusted \(DEPTH_ZERO_SELF_SIGNED_CERT\): .*target\.tls\.ca/,
    );
  });

  it("never prints credentials, and sends them as Basic authorization", async () => {
    let authorization: string | undefined;
    const url = await listen(
      createHttpServer((req, res) => {
        authorization = req.headers.authorization;
        res.end("{}");
      }),
    );
    const withCredentials = url.replace("http://", "http://alice:s3cret@");
    await waitHealthy([withCredentials], 1000);
    expect(authorization).toBe(`Basic ${Buffer.from("alice:s3cret").toString("base64")}`);

    const refused = `http://alice:s3cret@127.0.0.1:${await freePort()}`;
    const line = await failureOf(refused);
    expect(line).not.toContain("s3cret");
    expect(line).toContain("http://***@127.0.0.1:");
  });
});

/**
 * What waiting cannot change fails at once, with the full 15 s allowed: the
 * bound below is generous (a busy machine) and still far under 15 s.
 */
describe("waitHealthy: permanent conditions fail at once", () => {
  const FAST_MS = 8000;

  async function timed(url: string): Promise<{ message: string; elapsedMs: number }> {
    const started = Date.now();
    const message = await failureOf(url, 15_000);
    return { message, elapsedMs: Date.now() - started };
  }

  it("404: the server has no health route (not the reference protocol)", async () => {
    const url = await listen(
      createHttpServer((_req, res) => {
        res.statusCode = 404;
        res.end();
      }),
    );
    const { message, elapsedMs } = await timed(url);
    expect(message).toContain("/healthz: HTTP 404: the server has no /healthz route");
    expect(message).toContain("target.protocol: custom");
    expect(elapsedMs).toBeLessThan(FAST_MS);
  });

  it("refused: nothing listens, after a short grace", async () => {
    const { message, elapsedMs } = await timed(`http://127.0.0.1:${await freePort()}`);
    expect(message).toMatch(/: connection refused for 2000 ms: nothing listens there/);
    expect(elapsedMs).toBeGreaterThanOrEqual(2000);
    expect(elapsedMs).toBeLessThan(FAST_MS);
  });

  it("refused at first, then listening: the grace lets a starting server come up", async () => {
    const port = await freePort();
    const server = createHttpServer((_req, res) => res.end("ok"));
    setTimeout(() => {
      servers.push(server);
      server.listen(port, "127.0.0.1");
    }, 500);
    await waitHealthy([`http://127.0.0.1:${port}`], 15_000);
  });

  it("TLS on an http:// URL", async () => {
    const dir = join(import.meta.dirname, "fixtures", "tls");
    const url = await listen(
      createHttpsServer(
        { key: readFileSync(join(dir, "key.pem")), cert: readFileSync(join(dir, "cert.pem")) },
        (_req, res) => res.end("ok"),
      ),
    );
    const { message, elapsedMs } = await timed(url);
    expect(message).toMatch(/: TLS expected/);
    expect(elapsedMs).toBeLessThan(FAST_MS);
  });
});

describe("waitListening: a running target without a health route", () => {
  it("passes when something accepts, and names a closed port", async () => {
    await waitListening([await listen(createNetServer(() => {}))], 500);
    const url = `http://127.0.0.1:${await freePort()}`;
    await expect(waitListening([url], 300)).rejects.toThrow(
      `${url}: no TCP connection (connection refused for 300 ms: nothing listens there`,
    );
  });
});

describe("credentials and failure kinds", () => {
  it("redacts user:password@ wherever a URL appears in text", () => {
    expect(redactText("GET http://u:p@h:1/x failed; also redis://:pw@r:6379")).toBe(
      "GET http://***@h:1/x failed; also redis://***@r:6379",
    );
    expect(redactText("http://h:1/x and user@example.com")).toBe(
      "http://h:1/x and user@example.com",
    );
    expect(splitCredentials("http://a:b@h:1")).toEqual({
      url: "http://h:1",
      authorization: `Basic ${Buffer.from("a:b").toString("base64")}`,
    });
    expect(splitCredentials("http://h:1/base")).toEqual({
      url: "http://h:1/base",
      authorization: null,
    });
  });

  it("reads the status out of the clients' own error words", () => {
    const cases: [unknown, string][] = [
      [new Error("GET /ws/chat/a: expected 101 Switching Protocols, found 500"), "HTTP 500"],
      [new Error("POST /api/messages (channel a): expected status 201, found 404 (x)"), "HTTP 404"],
      [Object.assign(new Error("connect"), { code: "ECONNREFUSED" }), "connection refused"],
      [new Error("GET /api/stream/a: no response within 2000 ms"), "timed out"],
      [new Error("socket hang up"), "connection reset (closed without an answer)"],
    ];
    for (const [error, reason] of cases) expect(classifyFailure(error).reason).toBe(reason);
  });
});
