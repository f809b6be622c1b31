import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/global-setup.ts"],
    // Real servers, real sockets and real child processes: give them room on a 2-core machine.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Files run in parallel workers. Most of a load test's time is its scenario's
    // duration, not CPU (the whole suite keeps 2 cores about 40 % busy with 2
    // workers), so 3 workers on a 2-core machine; timing assertions are written
    // for a busy machine.
    maxWorkers: 3,
  },
});
