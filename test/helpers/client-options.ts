import { type ClientOptions, createClientContext } from "../../src/clients/types.js";
import type { TransportSettings } from "../../src/shared/transports.js";

/** Options for one client of a test: channel `c`, user `u`, handlers that only note breaks. */
export function clientOptions(
  baseUrl: string,
  settings: TransportSettings,
  onBreak: (reason: string) => void = () => {},
): ClientOptions {
  return {
    baseUrl,
    channel: "c",
    user: "u",
    settings,
    requestTimeoutMs: 5_000,
    context: createClientContext(),
    handlers: {
      onReady() {},
      onMessage() {},
      onGap() {},
      onUnrecognised() {},
      onBreak,
    },
  };
}
