/**
 * TLS for one protocol's run: what the clients trust and which files the
 * reference server instances serve. `server.tls: true` makes a throwaway CA
 * and certificate here, writes them to a private temporary directory for
 * the instances (paths on their command line, never the key itself) and
 * trusts the CA in the run's clients; `stop()` removes the files. The run's
 * own requests to the servers (health, settings, metrics, faults) go
 * through Node's fetch, which is told the same trust for the run.
 *
 * `server.proxy.tls` makes the proxy terminate TLS with a certificate from
 * the same CA (the throwaway one, or server.tls's files): the clients trust
 * it as they would trust the instances. The instances behind it stay plain
 * HTTP unless server.tls is set too; then the proxy re-encrypts, verifying
 * the instances' certificate with the CA (as a load balancer in front of
 * TLS backends does).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Agent, type Dispatcher, getGlobalDispatcher, setGlobalDispatcher } from "undici";
import type { ClientTlsSettings } from "../../clients/tls.js";
import type { ProxyTls } from "../../proxy/configs.js";
import type { ServerOptions } from "../../scenario/types.js";
import { createThrowawayCertificates } from "../../util/throwaway-ca.js";

export interface RunTls {
  /** How the run's clients and publishers speak TLS; null: they never need to (plain HTTP). */
  client: ClientTlsSettings | null;
  /** The certificate and key files each reference instance serves; null: plain HTTP. */
  serverFiles: { cert: string; key: string } | null;
  /** What the proxy serves (server.proxy.tls) and the CA it verifies TLS instances with. */
  proxy: ProxyTls;
  /** Removes throwaway files and gives fetch its previous trust back. */
  stop(): void;
}

/** The line a run prints when verification is off: loud, since a run looks fine without it. */
export const INSECURE_WARNING =
  "WARNING: target.tls.insecure is true: certificates are NOT verified (any server, any name is accepted); use target.tls.ca to trust a private CA instead";

const NO_PROXY_TLS: ProxyTls = { front: null, upstreamCa: null };

/** A target's TLS: only what the clients trust (`target.tls`); its certificates are its own. */
export function targetTlsUp(client: ClientTlsSettings | null, log: (line: string) => void): RunTls {
  if (client?.insecure) log(INSECURE_WARNING);
  return withFetchTrust({ client, serverFiles: null, proxy: NO_PROXY_TLS, stop() {} });
}

/** The reference server's TLS (server.tls, server.proxy.tls): the files it serves and the clients' trust. */
export function serverTlsUp(server: ServerOptions): RunTls {
  const { tls } = server;
  const atProxy = server.proxy?.tls === true;
  if (tls === null && !atProxy) {
    return { client: null, serverFiles: null, proxy: NO_PROXY_TLS, stop() {} };
  }
  const files = tls === null || tls === "throwaway" ? throwawayFiles() : userFiles(tls);
  const pair = { cert: files.cert, key: files.key };
  return withFetchTrust({
    client: { ca: files.caPem, insecure: false, sessionResumption: true },
    serverFiles: tls === null ? null : pair,
    proxy: { front: atProxy ? pair : null, upstreamCa: tls === null ? null : files.caFile },
    stop: files.stop,
  });
}

interface CertificateFiles {
  cert: string;
  key: string;
  caFile: string;
  caPem: string;
  stop(): void;
}

/** A throwaway CA and certificate in a private temporary directory, removed by `stop`. */
function throwawayFiles(): CertificateFiles {
  const made = createThrowawayCertificates();
  const dir = mkdtempSync(join(tmpdir(), "rtbench-tls-"));
  const file = (name: string, text: string) => {
    writeFileSync(join(dir, name), text, { mode: 0o600 });
    return join(dir, name);
  };
  return {
    cert: file("cert.pem", made.certPem),
    key: file("key.pem", made.keyPem),
    caFile: file("ca.pem", made.caPem),
    caPem: made.caPem,
    stop: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** server.tls's own files; a self-signed certificate is its own CA. */
function userFiles(tls: { certFile: string; keyFile: string; caFile: string | null }) {
  const caFile = tls.caFile ?? tls.certFile;
  return {
    cert: tls.certFile,
    key: tls.keyFile,
    caFile,
    caPem: readFileSync(caFile, "utf8"),
    stop() {},
  };
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
