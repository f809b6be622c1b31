/**
 * Scenario files (YAML or JSON) to `Scenario`: read, parse, validate against
 * the schema, check relations between fields, apply defaults. Every problem
 * is collected before anything is thrown, so a user fixes a file in one pass.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { basename, extname } from "node:path";
import { parseDocument } from "yaml";
import { errorText, RtbenchError } from "../shared/errors.js";
import { type Problem, problemLine } from "../shared/problem.js";
import { bundledScenarioFile, bundledScenarios } from "./bundled.js";
import { normaliseScenario } from "./normalise.js";
import { overrideProblems } from "./overrides.js";
import { isMapping } from "./reader.js";
import { schemaFindings } from "./schema.js";
import { withTargetPlace } from "./target-place.js";
import type { Scenario, ScenarioOverrides } from "./types.js";
import { schemaValidPart } from "./valid-part.js";
import { scenarioWorkload } from "./workload.js";
import { yamlProblems } from "./yaml-errors.js";

export type { ScenarioOverrides } from "./types.js";

const YAML_EXTENSIONS = new Set([".yaml", ".yml"]);

/**
 * Reads and validates a scenario file, or a bundled scenario by name
 * (`quickstart`); throws RtbenchError BAD_INPUT listing every problem.
 */
export async function loadScenario(file: string, overrides?: ScenarioOverrides): Promise<Scenario> {
  const bundled = bundledScenarioFile(file);
  if (bundled !== undefined) return loadScenario(bundled, overrides);
  const extension = extname(file).toLowerCase();
  if (!YAML_EXTENSIONS.has(extension) && extension !== ".json") {
    const names = bundledScenarios();
    const hint =
      extension === "" && names.length > 0 ? `, or a bundled scenario: ${names.join(", ")}` : "";
    throw new RtbenchError(
      "BAD_INPUT",
      `cannot read ${file}: expected a .yaml, .yml or .json file${hint}`,
    );
  }
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (error) {
    throw new RtbenchError("BAD_INPUT", `cannot read ${file}: ${readFailure(error)}`, {
      cause: error,
    });
  }
  return validate(bytes.toString("utf8"), file, sha256(bytes), overrides ?? {});
}

/**
 * Validates scenario text held in memory. `file` names it in messages, gives
 * the default name and picks the syntax (`.json` is JSON, anything else YAML).
 */
export function parseScenario(text: string, file: string, overrides?: ScenarioOverrides): Scenario {
  return validate(text, file, sha256(Buffer.from(text, "utf8")), overrides ?? {});
}

function validate(text: string, file: string, sha: string, overrides: ScenarioOverrides): Scenario {
  const parsed = extname(file).toLowerCase() === ".json" ? parseJson(text) : parseYaml(text);
  if ("problems" in parsed) throw invalid(file, parsed.problems);
  if (overrides.target !== undefined && isMapping(parsed.document)) {
    parsed.document = withTargetPlace(parsed.document, overrides.target);
  }

  const findings = schemaFindings(parsed.document);
  const problems = [...overrideProblems(overrides), ...findings.map((found) => found.problem)];
  // Relations between fields are checked only on what the schema accepts: a
  // rejected value is cut out before anything reads it, and checks at or
  // below it are skipped (isBad).
  const usable = isMapping(parsed.document) ? schemaValidPart(parsed.document, findings) : null;
  if (isMapping(parsed.document) && usable !== null) {
    const badPaths = problems.map((problem) => problem.path);
    const isBad = (path: string) =>
      badPaths.some(
        (bad) => bad === path || bad.startsWith(`${path}.`) || bad.startsWith(`${path}[`),
      );
    const context = {
      defaultName: basename(file, extname(file)),
      source: { file, sha256: sha, text },
      overrides,
      isBad,
    };
    const { scenario, problems: relational } = normaliseScenario(usable, context);
    problems.push(...relational);
    if (problems.length === 0) {
      // The file's workload, as a baseline made from the same file records it,
      // whatever a flag overrode for this run (--duration is warned about apart).
      const asWritten =
        Object.keys(overrides).length === 0
          ? scenario
          : normaliseScenario(usable, { ...context, overrides: {} }).scenario;
      scenario.source.workload = scenarioWorkload(asWritten);
      return scenario;
    }
  }
  if (isMapping(parsed.document)) sortByDocumentOrder(problems, Object.keys(parsed.document));
  throw invalid(file, problems);
}

/** Top-level fields in the order the file has them, so the list reads alongside the file. */
function sortByDocumentOrder(problems: Problem[], keys: string[]): void {
  const rank = (problem: Problem) => keys.indexOf(/^[^.[ ]*/.exec(problem.path)?.[0] ?? "");
  // Array.prototype.sort is stable: problems within one field keep their order.
  problems.sort((a, b) => rank(a) - rank(b));
}

function invalid(file: string, problems: Problem[]): RtbenchError {
  const count = problems.length === 1 ? "1 problem" : `${problems.length} problems`;
  return new RtbenchError("BAD_INPUT", `${file} is invalid (${count})`, {
    details: problems.map(problemLine),
  });
}

type Parsed = { document: unknown } | { problems: Problem[] };

const EMPTY_FILE: Problem = {
  path: "(root)",
  text: "expected a mapping of scenario fields, found an empty file",
};

function parseYaml(text: string): Parsed {
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) return { problems: yamlProblems(document.errors, text) };
  if (document.contents === null) return { problems: [EMPTY_FILE] };
  return { document: document.toJS() };
}

function parseJson(text: string): Parsed {
  if (text.trim() === "") return { problems: [EMPTY_FILE] };
  try {
    return { document: JSON.parse(text) };
  } catch (error) {
    const message = errorText(error);
    const offset = /at position (\d+)/.exec(message);
    const position = offset ? Number(offset[1]) : text.length;
    const before = text.slice(0, position).split("\n");
    const line = before.length;
    const column = (before.at(-1)?.length ?? 0) + 1;
    return {
      problems: [
        {
          path: `line ${line}, column ${column}`,
          text: message.replace(/ in JSON at position \d+.*$/, ""),
        },
      ],
    };
  }
}

function sha256(bytes: Buffer): string {
  return createHash("sha256").update(bytes).digest("hex");
}

function readFailure(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return "no such file";
  if (code === "EISDIR") return "it is a directory";
  if (code === "EACCES") return "permission denied";
  return errorText(error);
}
