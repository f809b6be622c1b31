#!/usr/bin/env node
// Tiny on purpose: the CLI lives in src/cli, compiled to dist/ (shipped built in
// the package; in a clone, `npm run build` makes it).
let main;
try {
  ({ main } = await import("../dist/src/cli/main.js"));
} catch (error) {
  const notBuilt = /Cannot find module '[^']*dist[/\\]src[/\\]cli[/\\]main\.js'/.test(
    String(error?.message),
  );
  if (!notBuilt) throw error;
  process.stderr.write(
    "error: rtbench is not built yet: run `npm run build` in its folder (a clone needs `npm install && npm run build`)\n",
  );
  process.exit(3);
}
process.exitCode = await main(process.argv);
