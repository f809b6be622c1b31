/**
 * A JSON object from the server, or null for anything else: text that is not
 * JSON, `null`, a number, a string, an array. Clients count those as
 * unrecognised (ClientHandlers.onUnrecognised) and carry on; what a server
 * sends must never crash a generator process.
 */
export function parseObject(text: string): Record<string, unknown> | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : null;
}
