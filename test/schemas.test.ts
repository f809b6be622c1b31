import { describe, expect, it } from "vitest";
import { parseScenario } from "../src/scenario/load.js";
import {
  deriveResultSchema,
  deriveScenarioSchema,
  RESULT_SCHEMA_PATH,
  readJson,
  SCENARIO_SCHEMA_PATH,
} from "../src/schemas/derive.js";
import { transports } from "../src/shared/transports.js";

describe("the committed JSON schemas", () => {
  // Editors read the files; the code derives the transport parts from the rows.
  // When this fails, run `npm run schema` and commit the result.
  it("scenario.schema.json is what the transport rows derive", () => {
    const file = readJson(SCENARIO_SCHEMA_PATH);
    expect(deriveScenarioSchema(file)).toEqual(file);
  });

  it("result.schema.json is what the transport rows derive", () => {
    const file = readJson(RESULT_SCHEMA_PATH);
    expect(deriveResultSchema(file)).toEqual(file);
  });

  it("every transport setting's default is what a scenario without the section gets", () => {
    const scenario = parseScenario("name: defaults\n", "defaults.yaml");
    const schema = readJson(SCENARIO_SCHEMA_PATH) as {
      properties: Record<string, { properties: Record<string, { default: unknown }> }>;
    };
    for (const t of transports()) {
      for (const [key, setting] of Object.entries(t.settings)) {
        const fileDefault = schema.properties[t.section]?.properties[key]?.default;
        expect(fileDefault, `${t.section}.${key}`).toBe(setting.default);
        const normalised = scenario.transports[t.name]?.settings[setting.field];
        const expected =
          setting.kind === "duration" ? durationMs(setting.default) : setting.default;
        expect(normalised, `${t.section}.${key}`).toBe(expected);
      }
    }
  });
});

function durationMs(text: string): number {
  const match = /^(\d+)(ms|s)$/.exec(text);
  if (!match) throw new Error(`test helper: unexpected duration ${text}`);
  return Number(match[1]) * (match[2] === "s" ? 1000 : 1);
}
