import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningServer, startReferenceServer } from "../reference-server/index.js";
import { createClient } from "../src/clients/registry.js";
import { createClientTlsState } from "../src/clients/tls.js";
import { createClientContext } from "../src/clients/types.js";
import { runScenario } from "../src/load/run.js";
import { parseScenario } from "../src/scenario/load.js";
import { classifyFailure } from "../src/util/failure.js";
import {
  createThrowawayCertificates,
  type ThrowawayCertificates,
} from "../src/util/throwaway-ca.js";
import { clientOptions } from "./helpers/client-options.js";

/**
 * The five ways a user gets TLS wrong, each ending in one line that names
 * the cause and the setting that fixes it: from a run (the health check
 * stops it at once) and from a client's own connect. No certificate or key
 * text is ever in the line.
 */
const DAY_MS = 86_400_000;

let dir: string;
let good: ThrowawayCertificates;
const servers: RunningServer[] = [];

async function serve(certs: ThrowawayCertificates | null): Promise<string> {
  const server = await startReferenceServer(
    certs === null ? {} : { tls: { cert: certs.certPem, key: certs.keyPem } },
  );
  servers.push(server);
  return server.url;
}

function caFile(certs: ThrowawayCertificates): string {
  const file = join(dir, `ca-${Math.random().toString(16).slice(2)}.pem`);
  writeFileSync(file, certs.caPem);
  return file;
}

/** The run's error for a reference target at `url` with `tls` settings (YAML flow text). */
async function runError(url: string, tls = ""): Promise<string> {
  const scenario = parseScenario(
    `target: { url: "${url}"${tls === "" ? "" : `, tls: ${tls}`} }
protocols: [sse]
clients: { count: 1, channels: 1 }
duration: 1s
warmup: 0s
drain: 300ms
`,
    join(dir, "s.yaml"),
  );
  const result = await runScenario(scenario);
  return result.error ?? "";
}

/** The reason an SSE client's connect failed with, classified as the fleet does. */
async function clientReason(url: string, ca?: string, servername?: string): Promise<string> {
  const options = clientOptions(url, {});
  options.context = createClientContext(
    createClientTlsState({ ca, servername, insecure: false, sessionResumption: true }),
  );
  const client = createClient("sse", options);
  try {
    await client.connect();
    return "connected";
  } catch (error) {
    return classifyFailure(error).reason;
  } finally {
    client.close();
  }
}

function expectClean(line: string) {
  expect(line).not.toMatch(/BEGIN|PRIVATE|CERTIFICATE-/);
  expect(line.split("\n")).toHaveLength(1);
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "rtbench-tls-errors-"));
  good = createThrowawayCertificates();
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  rmSync(dir, { recursive: true, force: true });
});

describe("TLS mistakes end in one clear line", () => {
  it("an untrusted certificate names target.tls.ca", async () => {
    const url = await serve(good);
    const line = await runError(url);
    expect(line).toMatch(/TLS certificate not trusted \(\w+\): .*set target\.tls\.ca/);
    expectClean(line);
    expect(await clientReason(url)).toMatch(/not trusted.*target\.tls\.ca/);
    // Trusting the CA mends it: the same server, the same client.
    expect(await clientReason(url, good.caPem)).toBe("connected");
  }, 30_000);

  it("an expired certificate says so", async () => {
    const expired = createThrowawayCertificates({
      notBefore: new Date(Date.now() - 3 * DAY_MS),
      notAfter: new Date(Date.now() - DAY_MS),
    });
    const url = await serve(expired);
    const line = await runError(url, `{ ca: ${caFile(expired)} }`);
    expect(line).toMatch(/TLS certificate expired or not yet valid \(CERT_HAS_EXPIRED\)/);
    expectClean(line);
    expect(await clientReason(url, expired.caPem)).toMatch(/expired/);
  }, 30_000);

  it("a certificate for another host names target.tls.servername", async () => {
    const other = createThrowawayCertificates({ hosts: ["other.example"] });
    const url = await serve(other);
    const line = await runError(url, `{ ca: ${caFile(other)} }`);
    expect(line).toMatch(
      /TLS certificate is for another host name \(\w+\): set target\.tls\.servername/,
    );
    expectClean(line);
    expect(await clientReason(url, other.caPem)).toMatch(/another host name/);
    // The setting it names mends it.
    expect(await clientReason(url, other.caPem, "other.example")).toBe("connected");
  }, 30_000);

  it("a plaintext server on an https URL says use http://", async () => {
    const plain = await serve(null);
    const url = plain.replace("http:", "https:");
    const line = await runError(url);
    expect(line).toMatch(/not TLS: the server answered in plain text; use http:\/\//);
    expectClean(line);
    expect(await clientReason(url)).toMatch(/not TLS/);
  }, 30_000);

  it("a TLS server on an http URL says use https://", async () => {
    const url = (await serve(good)).replace("https:", "http:");
    const line = await runError(url);
    expect(line).toMatch(/TLS expected: the server speaks TLS; use https:\/\//);
    expectClean(line);
  }, 30_000);
});
