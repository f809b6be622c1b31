#!/usr/bin/env node
// Removes dist/ before a build, so a file whose source was moved or deleted
// cannot linger there and make a checkout pass what a clean one fails
// (a moved shard entry once passed locally and failed in CI this way).
import { rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

rmSync(join(dirname(fileURLToPath(import.meta.url)), "..", "dist"), {
  recursive: true,
  force: true,
});
