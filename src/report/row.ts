import type { ProtocolResult } from "../metrics/types.js";

/** One row of the result table (terminal, Markdown and HTML alike): a label and a cell per protocol. */
export interface ReportRow {
  label: string;
  cell(p: ProtocolResult): string;
  /** Shown only when some protocol makes it interesting (reconnect rows: when a connection broke). */
  when?(p: ProtocolResult): boolean;
}
