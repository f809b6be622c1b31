import type { Command } from "commander";

/** Every subcommand, one file each. */
export function commands(): Command[] {
  return [];
}
