import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { forEachLine, MAX_LINE } from "../src/util/children.js";

/** Feeds `chunks` through forEachLine and returns the lines it passed on. */
async function linesOf(chunks: string[]): Promise<string[]> {
  const stream = new PassThrough();
  const lines: string[] = [];
  forEachLine(stream, (line) => lines.push(line));
  for (const chunk of chunks) stream.write(chunk);
  stream.end();
  await new Promise((resolve) => stream.on("end", resolve));
  return lines;
}

describe("forEachLine (a child's output, line by line)", () => {
  it("splits lines across chunks and drops the carriage return", async () => {
    expect(await linesOf(["ready on ", "port 1\r\nsecond", " line\n"])).toEqual([
      "ready on port 1",
      "second line",
    ]);
  });

  it("cuts a line without a newline at MAX_LINE and keeps reading the lines after it", async () => {
    // 10 MB without a newline, in 64 KB chunks (as a pipe delivers them), then a ready line.
    const chunk = "x".repeat(64 * 1024);
    const lines = await linesOf([...Array.from({ length: 160 }, () => chunk), "\nready\n"]);
    expect(lines).toHaveLength(2);
    expect(lines[0]?.length).toBeLessThan(MAX_LINE + 100);
    expect(lines[0]).toMatch(/\[line cut at 65536 characters\]$/);
    expect(lines[1]).toBe("ready");
  });
});
