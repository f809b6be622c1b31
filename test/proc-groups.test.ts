import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { sampleProcessGroups } from "../src/util/proc.js";
import { waitFor } from "./helpers/wait.js";

/** Live members of `group` from a full read of /proc: what every scan once did. */
function membersByFullScan(group: number): number {
  let count = 0;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let text = "";
    try {
      text = readFileSync(`/proc/${entry}/stat`, "latin1");
    } catch {
      continue; // gone meanwhile
    }
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    if (Number(fields[2]) === group) count++;
  }
  return count;
}

describe.runIf(process.platform === "linux")("process group sampling over /proc", () => {
  it("counts a group's members as a full scan does while members join and leave it", async () => {
    // A group leader (a new session, as servers start) whose group changes
    // after the first scans: one member leaves for a session of its own
    // (`exec setsid`, same PID), and a new member is started.
    const leader = spawn(
      "/bin/sh",
      [
        "-c",
        // fd 4: stdin kept for the subshell (a background job's stdin is /dev/null).
        "exec 4<&0; sleep 30 & (read _ <&4; exec setsid sleep 5) & read _ <&3; sleep 30 & wait",
      ],
      { detached: true, stdio: ["pipe", "ignore", "inherit", "pipe"] },
    );
    const group = leader.pid as number;
    try {
      // Leader, its sleep, the subshell waiting on stdin.
      await waitFor(() => membersByFullScan(group) === 3, "the group's first 3 members");
      // The scans before the change: every process on the machine is read once and remembered.
      expect(sampleProcessGroups([group])?.get(group)?.processes).toBe(3);
      expect(sampleProcessGroups([group])?.get(group)?.processes).toBe(3);
      // The subshell leaves the group; then the leader starts one more member.
      leader.stdin?.end("go\n");
      await waitFor(() => membersByFullScan(group) === 2, "the subshell to leave");
      expect(sampleProcessGroups([group])?.get(group)?.processes).toBe(2);
      (leader.stdio[3] as NodeJS.WritableStream).end("go\n");
      await waitFor(() => membersByFullScan(group) === 3, "the new member");
      const after = sampleProcessGroups([group])?.get(group);
      expect(after?.processes).toBe(3);
      expect(after?.rssBytes).toBeGreaterThan(0);
    } finally {
      try {
        process.kill(-group, "SIGKILL");
      } catch {
        // gone already
      }
    }
  });
});
