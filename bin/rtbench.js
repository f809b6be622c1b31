#!/usr/bin/env node
// Tiny on purpose: the CLI lives in src/cli and is compiled to dist/ by `npm install` (prepare).
import { main } from "../dist/src/cli/main.js";

process.exitCode = await main(process.argv);
