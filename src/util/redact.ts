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
