/**
 * Keys of a result's `protocols`: a transport's name, or `name@variant` when
 * the scenario lists `variants:` (server settings run side by side, e.g.
 * `websocket@sticky`). Metric names are `key.metric`: transport names hold
 * no dot and no `@`, and variant names are lower-case words with dashes, so
 * every key splits back unambiguously.
 */
import { inTableOrder, isTransportName, transportLabel } from "../shared/transports.js";

export const VARIANT_SEPARATOR = "@";
/** What a variant's name may be (the scenario schema says the same). */
export const VARIANT_NAME = /^[a-z0-9][a-z0-9-]{0,23}$/;

export function runKey(protocol: string, variant: string | null): string {
  return variant === null ? protocol : `${protocol}${VARIANT_SEPARATOR}${variant}`;
}

export function splitRunKey(key: string): { protocol: string; variant: string | null } {
  const at = key.indexOf(VARIANT_SEPARATOR);
  if (at < 0) return { protocol: key, variant: null };
  return { protocol: key.slice(0, at), variant: key.slice(at + 1) };
}

/** A registered transport, alone or with a well-formed variant name. */
export function isRunKey(key: string): boolean {
  const { protocol, variant } = splitRunKey(key);
  return isTransportName(protocol) && (variant === null || VARIANT_NAME.test(variant));
}

/**
 * Keys in column order: transports in table order, and each transport's
 * variants in the order they first appear in `keys` (the scenario's order).
 */
export function orderRunKeys(keys: Iterable<string>): string[] {
  const unique = [...new Set(keys)];
  const protocols = inTableOrder(unique.map((key) => splitRunKey(key).protocol));
  return protocols.flatMap((protocol) =>
    unique.filter((key) => splitRunKey(key).protocol === protocol),
  );
}

/** A column heading: "WebSocket", or "WebSocket @sticky" (`between` "\n" for two lines). */
export function runLabel(key: string, between = " "): string {
  const { protocol, variant } = splitRunKey(key);
  const label = transportLabel(protocol);
  return variant === null ? label : `${label}${between}${VARIANT_SEPARATOR}${variant}`;
}
