import { Command, Option } from "commander";
import { readResultFile } from "../../gate/result-file.js";
import { renderHtml } from "../../report/html.js";
import { renderJson } from "../../report/json.js";
import { renderMarkdown } from "../../report/markdown.js";
import { renderTable } from "../../report/table.js";

const FORMATS = ["table", "markdown", "html", "json"] as const;

/** `rtbench report RESULT.json`: renders a saved result again, in any format. */
export function reportCommand(): Command {
  return new Command("report")
    .description("render a saved result file as a table, Markdown, HTML or JSON")
    .argument("<result>", "a result JSON written by rtbench run")
    .addOption(new Option("--format <format>", "output format").choices(FORMATS).default("table"))
    .action((file: string, flags: { format: (typeof FORMATS)[number] }) => {
      const result = readResultFile(file);
      const render = {
        table: () => renderTable(result, { color: process.stdout.isTTY === true }),
        markdown: () => renderMarkdown(result),
        html: () => renderHtml(result),
        json: () => renderJson(result),
      }[flags.format];
      process.stdout.write(`${render().replace(/\n$/, "")}\n`);
    });
}
