import { monoMs } from "../../util/clock.js";

/**
 * Test-only misbehaviour of a shard, switched on by environment variables the
 * shard inherits from its parent, so tests can check what a run says when its
 * own generator is the problem. Unset, they cost nothing.
 */

/**
 * RTBENCH_TEST_SHARD_BUSY=0.95 keeps the event loop busy that share of every
 * 100 ms: a starved generator, on purpose.
 */
export function startTestBusyLoop(): void {
  const share = Number(process.env.RTBENCH_TEST_SHARD_BUSY);
  if (!(share > 0 && share < 1)) return;
  const periodMs = 100;
  setInterval(() => {
    const until = monoMs() + share * periodMs;
    while (monoMs() < until) {
      // spin: this is the point
    }
  }, periodMs).unref();
}

/** RTBENCH_TEST_SHARD_FAIL=text: the shard dies of an uncaught Error(text) when its window starts. */
export function testFailureAtWindowStart(): void {
  const text = process.env.RTBENCH_TEST_SHARD_FAIL;
  if (text === undefined || text === "") return;
  setImmediate(() => {
    throw new Error(text);
  });
}
