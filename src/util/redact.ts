/**
 * Credentials never leave in what rtbench prints or writes: a URL's
 * `user:password@` becomes `***@`, in a URL or anywhere in a line of text
 * (an error message that quotes the URL).
 */
const USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@]+@/gi;

export function redactText(text: string): string {
  return text.replace(USERINFO, "$1***@");
}

/** The URL without its credentials, and the credentials as a Basic authorization header value. */
export function splitCredentials(url: string): { url: string; authorization: string | null } {
  const parsed = new URL(url);
  if (parsed.username === "" && parsed.password === "") return { url, authorization: null };
  const user = decodeURIComponent(parsed.username);
  const password = decodeURIComponent(parsed.password);
  parsed.username = "";
  parsed.password = "";
  const bare = parsed.toString();
  return {
    url: url.endsWith("/") ? bare : bare.replace(/\/$/, ""),
    authorization: `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`,
  };
}

/** Headers whose values describe the request, not who sends it: left as written. */
const PLAIN_HEADERS = new Set(["content-type", "accept", "content-encoding", "accept-encoding"]);
/** Shorter values are not replaced wherever they occur: they would garble unrelated text. */
const MIN_SECRET_LENGTH = 3;

/** Where a scenario keeps secrets; a structural slice of Scenario, so this module needs no scenario types. */
export interface SecretSources {
  server: { auth: string | null };
  variants: readonly { server: { auth: string | null } }[];
  target: {
    urls: readonly string[];
    wire: { publish?: { headers: Readonly<Record<string, string>> } };
  } | null;
}

/**
 * The secrets a scenario holds, to be kept out of everything rtbench prints
 * or writes: the reference server's token (each variant's too), the
 * password of a target URL, and the values of the headers a target's
 * publishes send (but content-type and accept).
 */
export function scenarioSecrets(scenario: SecretSources): string[] {
  const secrets = new Set<string>();
  for (const server of [scenario.server, ...scenario.variants.map((v) => v.server)]) {
    if (server.auth) secrets.add(server.auth);
  }
  for (const url of scenario.target?.urls ?? []) {
    try {
      const { password } = new URL(url);
      if (password) secrets.add(password).add(decodeURIComponent(password));
    } catch {
      // not a URL: nothing to take from it
    }
  }
  const headers = scenario.target?.wire.publish?.headers ?? {};
  for (const [name, value] of Object.entries(headers)) {
    if (!PLAIN_HEADERS.has(name.toLowerCase())) secrets.add(value);
  }
  // Longest first, so a secret that contains another is replaced whole.
  return [...secrets]
    .filter((secret) => secret.length >= MIN_SECRET_LENGTH)
    .sort((a, b) => b.length - a.length);
}

/** `text` with URL credentials (redactText) and every one of `secrets` replaced by `***`. */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  let out = redactText(text);
  for (const secret of secrets) out = out.replaceAll(secret, "***");
  return out;
}

/** Strings that are data, not text: a short secret must not garble a histogram, hash or time. */
const DATA_KEYS = new Set(["hdr", "sha256", "startedAt", "finishedAt"]);

/**
 * Every string in `value` (a result document) passed through redactSecrets,
 * in place, but those under DATA_KEYS.
 */
export function redactStrings<T>(value: T, secrets: readonly string[]): T {
  const walk = (node: unknown): unknown => {
    if (typeof node === "string") return redactSecrets(node, secrets);
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) node[i] = walk(node[i]);
    } else if (typeof node === "object" && node !== null) {
      const record = node as Record<string, unknown>;
      for (const key of Object.keys(record)) {
        if (!DATA_KEYS.has(key)) record[key] = walk(record[key]);
      }
    }
    return node;
  };
  return walk(value) as T;
}
