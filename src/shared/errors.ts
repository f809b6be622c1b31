/**
 * Errors a user can act on carry a stable `code`; the CLI maps codes to exit
 * codes (0 ok, 1 gate failed, 2 bad input, 3 run failed) and prints the
 * message without a stack.
 */
export type ErrorCode =
  | "BAD_INPUT" // scenario, flags, result files: exit 2
  | "THRESHOLD_FAILED" // thresholds or regression check: exit 1
  | "RUN_FAILED"; // server would not start, Redis unreachable: exit 3

export const EXIT_CODES: Record<ErrorCode, number> = {
  THRESHOLD_FAILED: 1,
  BAD_INPUT: 2,
  RUN_FAILED: 3,
};

export class RtbenchError extends Error {
  readonly code: ErrorCode;
  /** One line per problem, shown under the message (validation lists every problem at once). */
  readonly details: string[];

  constructor(code: ErrorCode, message: string, options?: { details?: string[]; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "RtbenchError";
    this.code = code;
    this.details = options?.details ?? [];
  }
}

export function badInput(message: string, details?: string[]): RtbenchError {
  return new RtbenchError("BAD_INPUT", message, { details });
}

export function runFailed(message: string, cause?: unknown): RtbenchError {
  return new RtbenchError("RUN_FAILED", message, { cause });
}

/** The message of anything thrown: an Error's message, or the thrown value as text. */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
