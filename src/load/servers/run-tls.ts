/**
 * TLS for one protocol's run: what the clients trust and which files the
 * reference server instances serve. `server.tls: true` makes a throwaway CA
 * and certificate here, writes them to a private temporary directory for
 * the instances (paths on their command line, never the key itself) and
 * trusts the CA in the run's clients; `stop()` removes the files. The run's
 * own requests to the servers (health, settings, metrics, faults) go
 * through Node's fetch, which is told the same trust for the run.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Agent, type Dispatcher, getGlobalDispatcher, setGlobalDispatcher } from "undici";
import type { ClientTlsSettings } from "../../clients/tls.js";
import type { Scenario } from "../../scenario/types.js";
import { createThrowawayCertificates } from "../../util/throwaway-ca.js";

export interface RunTls {
  /** How the run's clients and publishers speak TLS; null: they never need to (plain HTTP). */
  client: ClientTlsSettings | null;
  /** The certificate and key files each reference instance serves; null: plain HTTP. */
  serverFiles: { cert: string; key: string } | null;
  /** Removes throwaway files and gives fetch its previous trust back. */
  stop(): void;
}

/** The line a run prints when verification is off: loud, since a run looks fine without it. */
export const INSECURE_WARNING =
  "WARNING: target.tls.insecure is true: certificates are NOT verified (any server, any name is accepted); use target.tls.ca to trust a private CA instead";

export function tlsUp(scenario: Scenario, log: (line: string) => void): RunTls {
  const target = scenario.target;
  if (target !== null) {
    const client = target.tls;
    if (client?.insecure) log(INSECURE_WARNING);
    return withFetchTrust({ client, serverFiles: null, stop() {} });
  }
  const tls = scenario.server.tls;
  if (tls === null) return { client: null, serverFiles: null, stop() {} };
  if (tls === "throwaway") {
    const made = createThrowawayCertificates();
    const dir = mkdtempSync(join(tmpdir(), "rtbench-tls-"));
    const cert = join(dir, "cert.pem");
    const key = join(dir, "key.pem");
    writeFileSync(cert, made.certPem, { mode: 0o600 });
    writeFileSync(key, made.keyPem, { mode: 0o600 });
    return withFetchTrust({
      client: { ca: made.caPem, insecure: false, sessionResumption: true },
      serverFiles: { cert, key },
      stop: () => rmSync(dir, { recursive: true, force: true }),
    });
  }
  return withFetchTrust({
    // A self-signed certificate is its own CA.
    client: {
      ca: readFileSync(tls.caFile ?? tls.certFile, "utf8"),
      insecure: false,
      sessionResumption: true,
    },
    serverFiles: { cert: tls.certFile, key: tls.keyFile },
    stop() {},
  });
}

/** While the run lasts, fetch (Node's global dispatcher) trusts what the clients trust. */
function withFetchTrust(tls: RunTls): RunTls {
  const settings = tls.client;
  if (settings === null || (settings.ca === undefined && !settings.insecure)) return tls;
  const previous: Dispatcher = getGlobalDispatcher();
  const agent = new Agent({
    connect: {
      ...(settings.ca === undefined ? {} : { ca: settings.ca }),
      rejectUnauthorized: !settings.insecure,
      ...(settings.servername === undefined ? {} : { servername: settings.servername }),
    },
  });
  setGlobalDispatcher(agent);
  return {
    ...tls,
    stop() {
      setGlobalDispatcher(previous);
      agent.close().catch(() => {});
      tls.stop();
    },
  };
}
