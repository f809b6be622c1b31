import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/global-setup.ts"],
    // Real servers, real sockets and real child processes: give them room on a 2-core machine.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Files run in parallel workers. Most of a load test's time is its scenario's
    // duration, not CPU (2 workers keep 2 cores about 40 % busy), but 3 workers
    // made a different timing-sensitive test fail in each of three full runs:
    // 2 on a 2-core machine.
    maxWorkers: 2,
  },
});
