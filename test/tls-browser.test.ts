import { createHash, X509Certificate } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium as playwright } from "playwright-core";
import { describe, expect, it } from "vitest";
import { startReferenceServer } from "../reference-server/index.js";
import { createHttpPublisher } from "../src/clients/publishers.js";
import { createClientTlsState } from "../src/clients/tls.js";
import { createClientContext } from "../src/clients/types.js";
import { createThrowawayCertificates } from "../src/util/throwaway-ca.js";
import { CHROMIUM_FLAGS, findChromium } from "./helpers/browser.js";
import { freePort } from "./helpers/ports.js";
import { sleep } from "./helpers/wait.js";

/**
 * SSE over HTTP/2 as browsers run it: Debian's headless Chromium opens
 * EventSources to the reference server with `tls` (a throwaway CA; the
 * browser trusts the server's key by its SPKI hash), negotiates h2 by ALPN,
 * and multiplexes every stream over one TLS connection, where HTTP/1.1
 * would need one connection each (and stall past six). Skipped without a
 * Chromium unless RTBENCH_REQUIRE_CHROMIUM=1.
 */
const chromium = findChromium();
const required = process.env.RTBENCH_REQUIRE_CHROMIUM === "1";
const skip = chromium === null && !required;
const STREAMS = 10;
const H2_CONNECTIONS = 'rtbench_tls_connections_total{alpn="h2"}';

(skip ? describe.skip : describe)("Chromium's EventSource over TLS (HTTP/2 by ALPN)", () => {
  it("multiplexes every stream over one TLS connection and gets every message", async () => {
    if (chromium === null)
      throw new Error("RTBENCH_REQUIRE_CHROMIUM=1, but no Chromium is installed");
    const certs = createThrowawayCertificates();
    const port = await freePort();
    const origin = `https://localhost:${port}`;
    const server = await startReferenceServer({
      port,
      tls: { cert: certs.certPem, key: certs.keyPem },
      allowOrigins: [origin],
    });
    const spki = createHash("sha256")
      .update(new X509Certificate(certs.certPem).publicKey.export({ type: "spki", format: "der" }))
      .digest("base64");
    const profile = mkdtempSync(join(tmpdir(), "rtbench-tls-browser-"));
    const browser = await playwright.launchPersistentContext(profile, {
      executablePath: chromium,
      args: [...CHROMIUM_FLAGS, `--ignore-certificate-errors-spki-list=${spki}`],
      headless: true,
    });
    const publisher = createHttpPublisher(server.url, {
      connections: 1,
      context: createClientContext(
        createClientTlsState({ ca: certs.caPem, insecure: false, sessionResumption: true }),
      ),
    });
    try {
      const page = await browser.newPage();
      // Any page of the origin will do (over HTTP/2 the server answers only its streams: 404).
      const answer = await page.goto(`${origin}/`);
      expect(answer?.status()).toBe(404);
      // Strings, evaluated in the page: this package compiles without the DOM's types.
      await page.evaluate(`(() => {
        window.got = [];
        window.open = 0;
        window.subscribe = (from, to) => {
          for (let i = from; i < to; i++) {
            const source = new EventSource("/api/stream/room?user=u" + i);
            window.got.push(0);
            source.onopen = () => { window.open++; };
            source.addEventListener("message", () => { window.got[i]++; });
          }
        };
      })()`);
      // The first stream's connection, then nine more streams: no connection more.
      await page.evaluate("window.subscribe(0, 1)");
      await waitInPage(() => page.evaluate("window.open === 1"), "the first stream open");
      const first = gauge(await serverMetrics(server.url, certs.caPem), H2_CONNECTIONS);
      await page.evaluate(`window.subscribe(1, ${STREAMS})`);
      await waitInPage(() => page.evaluate(`window.open === ${STREAMS}`), "every stream open");
      await publisher.publish("room", { hello: "browser" });
      await waitInPage(
        () => page.evaluate("window.got.every((n) => n === 1)"),
        "the message on every stream",
      );
      const metrics = await serverMetrics(server.url, certs.caPem);
      // Every stream is HTTP/2 (none fell back to HTTP/1.1)...
      expect(gauge(metrics, 'rtbench_connections{transport="sse-h2"}')).toBe(STREAMS);
      expect(gauge(metrics, 'rtbench_connections{transport="sse"}')).toBe(0);
      // ...and streams 2 to 10 rode the first one's connection. Chromium may keep the
      // navigation's own connection apart from the page's (network partitioning): at most one more.
      expect(gauge(metrics, H2_CONNECTIONS)).toBe(first);
      expect(first).toBeLessThanOrEqual(2);
    } finally {
      await publisher.close();
      await browser.close();
      await server.close();
      rmSync(profile, { recursive: true, force: true });
    }
  }, 60_000);
});

/** Asks the page until it says true, for at most 10 s. */
async function waitInPage(ask: () => Promise<unknown>, what: string): Promise<void> {
  for (let tries = 0; tries < 200; tries++) {
    if ((await ask()) === true) return;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** GET /metrics over TLS, trusting the throwaway CA. */
async function serverMetrics(url: string, ca: string): Promise<string> {
  const { Agent, request } = await import("undici");
  const dispatcher = new Agent({ connect: { ca } });
  try {
    const response = await request(`${url}/metrics`, { dispatcher });
    return await response.body.text();
  } finally {
    await dispatcher.close();
  }
}

function gauge(text: string, name: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return line === undefined ? Number.NaN : Number(line.slice(name.length + 1));
}
