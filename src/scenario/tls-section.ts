/**
 * `target.tls` (how the clients speak TLS to an https:// target) and
 * `server.tls` (the reference server serves HTTPS): read with their files,
 * which are found from the scenario file's directory and checked here, so a
 * missing or unreadable file is a problem before anything starts. Key
 * material is never put in a problem's text.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { ClientTlsSettings } from "../clients/tls.js";
import type { Problem } from "../shared/problem.js";
import type { Doc } from "./reader.js";
import type { ServerTls } from "./types.js";

const PEM_CERTIFICATE = "-----BEGIN CERTIFICATE-----";

/** `target.tls`, with the CA file read; null when absent (the defaults then apply). */
export function readTargetTls(
  raw: unknown,
  scenarioFile: string | null,
  problems: Problem[],
): ClientTlsSettings | null {
  if (typeof raw !== "object" || raw === null) return null;
  const doc = raw as Doc;
  const settings: ClientTlsSettings = {
    insecure: doc.insecure === true,
    sessionResumption: doc.sessionResumption !== false,
  };
  if (typeof doc.servername === "string") settings.servername = doc.servername;
  if (typeof doc.ca === "string") {
    const ca = readPem("target.tls.ca", doc.ca, scenarioFile, PEM_CERTIFICATE, problems);
    if (ca !== null) settings.ca = ca;
  }
  return settings;
}

/** `server.tls` as written: true, false or the files (paths as written, resolved by `resolveServerTls`). */
export function serverTlsOf(raw: unknown): ServerTls {
  if (raw === true) return "throwaway";
  if (typeof raw !== "object" || raw === null) return null;
  const doc = raw as Doc;
  return {
    certFile: String(doc.cert),
    keyFile: String(doc.key),
    caFile: typeof doc.ca === "string" ? doc.ca : null,
  };
}

/** The files of `server.tls` found from the scenario file's directory, each checked. */
export function resolveServerTls(
  tls: ServerTls,
  path: string,
  scenarioFile: string | null,
  problems: Problem[],
): ServerTls {
  if (tls === null || tls === "throwaway") return tls;
  const check = (field: string, file: string, marker: string): string => {
    const absolute = fileFrom(scenarioFile, file);
    readPem(`${path}.${field}`, absolute, null, marker, problems);
    return absolute;
  };
  return {
    certFile: check("cert", tls.certFile, PEM_CERTIFICATE),
    keyFile: check("key", tls.keyFile, "PRIVATE KEY-----"),
    caFile: tls.caFile === null ? null : check("ca", tls.caFile, PEM_CERTIFICATE),
  };
}

function fileFrom(scenarioFile: string | null, file: string): string {
  return resolve(dirname(resolve(scenarioFile ?? "scenario.yaml")), file);
}

/** The file's text when it holds `marker`; a problem naming the file otherwise (never its content). */
function readPem(
  path: string,
  file: string,
  scenarioFile: string | null,
  marker: string,
  problems: Problem[],
): string | null {
  const absolute = fileFrom(scenarioFile, file);
  if (!existsSync(absolute)) {
    problems.push({
      path,
      text: `expected a PEM file (relative to the scenario file), found no file at ${absolute}`,
    });
    return null;
  }
  let text: string;
  try {
    text = readFileSync(absolute, "utf8");
  } catch (error) {
    problems.push({ path, text: `cannot read ${absolute}: ${(error as Error).message}` });
    return null;
  }
  if (!text.includes(marker)) {
    problems.push({
      path,
      text: `expected a PEM file with "${marker.replace(/-+/g, "").trim()}", found none in ${absolute}`,
    });
    return null;
  }
  return text;
}
