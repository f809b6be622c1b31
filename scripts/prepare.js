#!/usr/bin/env node
// npm's `prepare`: builds dist/ after `npm install` in a checkout, and when
// rtbench is installed from git (`npm install github:OWNER/rtbench`: npm
// runs only `prepare` for a git dependency, never `prepack`), so the package
// arrives with the dist/ that bin/rtbench.js runs.
//
// RTBENCH_SKIP_BUILD=1 skips it where the next step compiles the same
// sources anyway: .ci/run's `npm test` does (tsc -p tsconfig.json), and the
// build would add 9 s of CPU (30 s on a busy 2-core runner) to `npm ci`.
import { spawnSync } from "node:child_process";

if (process.env.RTBENCH_SKIP_BUILD === "1") {
  process.stdout.write("prepare: RTBENCH_SKIP_BUILD=1, not building dist/\n");
} else {
  const npm = process.env.npm_execpath;
  const build = npm
    ? spawnSync(process.execPath, [npm, "run", "build"], { stdio: "inherit" })
    : spawnSync("npm", ["run", "build"], { stdio: "inherit", shell: true });
  process.exitCode = build.status ?? 1;
}
