import { readFileSync } from "node:fs";
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import type { RunResult } from "../metrics/types.js";
import { deriveResultSchema, RESULT_SCHEMA_PATH, readJson } from "../schemas/derive.js";
import { badInput } from "../shared/errors.js";

/** The JSON Schema of result files; it ships with the package. */
export { RESULT_SCHEMA_PATH };

let validator: ValidateFunction | undefined;

function resultValidator(): ValidateFunction {
  if (validator === undefined) {
    const schema = deriveResultSchema(readJson(RESULT_SCHEMA_PATH));
    validator = new Ajv({ allErrors: true, strict: false }).compile(schema);
  }
  return validator;
}

function describeError(error: ErrorObject): string {
  const path =
    error.instancePath === "" ? "(top level)" : error.instancePath.slice(1).replaceAll("/", ".");
  if (error.keyword === "required") {
    return `${path}: missing ${(error.params as { missingProperty: string }).missingProperty}`;
  }
  if (error.keyword === "const" || error.keyword === "enum") {
    const allowed = error.params as { allowedValue?: unknown; allowedValues?: unknown[] };
    const values = allowed.allowedValues ?? [allowed.allowedValue];
    return `${path}: expected ${values.map((v) => JSON.stringify(v)).join(" or ")}`;
  }
  return `${path}: ${error.message ?? "invalid"}`;
}

/**
 * Reads and validates a result file (`rtbench compare`, `rtbench run
 * --baseline`); every problem becomes BAD_INPUT (exit 2).
 */
export function readResultFile(file: string): RunResult {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? String(error);
    throw badInput(`${file}: cannot read the result file (${reason})`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw badInput(
      `${file}: expected an rtbench result (JSON), found text that is not JSON (${(error as Error).message})`,
    );
  }
  const validate = resultValidator();
  if (!validate(data)) {
    const problems = (validate.errors ?? []).map(describeError);
    // A different schemaVersion is its own message: the fix is a different rtbench, not the file.
    const version = (data as { schemaVersion?: unknown } | null)?.schemaVersion;
    if (typeof version === "number" && version !== 1) {
      throw badInput(
        `${file}: result schemaVersion ${version} is not supported (this rtbench reads 1)`,
      );
    }
    throw badInput(
      `${file} is not an rtbench result (${problems.length} problem${problems.length === 1 ? "" : "s"})`,
      problems,
    );
  }
  return data as RunResult;
}
