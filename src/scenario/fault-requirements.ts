/**
 * What a fault action needs of the rest of the scenario: a Redis that rtbench
 * provides for redis-restart, a broker with a backing service rtbench starts
 * for the broker-* actions, and a target protocol that can take the fault.
 */
import { brokerInfo, brokersWhere } from "../shared/brokers.js";
import type { FieldProblem } from "../shared/problem.js";
import { targetProtocol } from "../targets/registry.js";
import type { Fault, Scenario, TargetOptions } from "./types.js";

type Action = Fault["action"];

/** The faults that act on the broker's backing service rather than on a server instance. */
const BROKER_ACTIONS: readonly Action[] = ["broker-freeze", "broker-stop", "broker-restart"];

/** Each missing requirement of `action` as a problem on its `action` field. */
export function requirementProblems(
  action: Action,
  scenario: Scenario,
  isBad: (path: string) => boolean,
  problem: FieldProblem,
): void {
  const target = scenario.target;
  if (action === "redis-restart" && target !== null) {
    providedRedisProblem(target, action, "rtbench restarts only a Redis it provides", problem);
  } else if (
    action === "redis-restart" &&
    !isBad("server.broker") &&
    scenario.server.broker !== "redis"
  ) {
    problem(
      "action",
      `expected server.broker: redis for redis-restart (the memory broker has no Redis to restart), found broker ${JSON.stringify(scenario.server.broker)}`,
    );
  }
  if (BROKER_ACTIONS.includes(action)) {
    brokerFaultProblem(action, scenario, isBad, problem);
  }
  const refusal =
    target !== null && (action === "drop" || action === "stall-clients")
      ? targetProtocol(target.protocol).cannot[action]
      : undefined;
  if (refusal !== undefined) {
    problem(
      "action",
      `expected a fault protocol ${target?.protocol} can take: ${refusal}, found ${action}`,
    );
  }
}

/** A broker-* fault needs a broker with a backing service that rtbench starts. */
function brokerFaultProblem(
  action: Action,
  scenario: Scenario,
  isBad: (path: string) => boolean,
  problem: FieldProblem,
): void {
  const target = scenario.target;
  if (target !== null) {
    providedRedisProblem(target, action, "rtbench acts only on a broker it provides", problem);
    return;
  }
  if (isBad("server.broker")) return;
  // With variants, those on a broker without a service run without the broker faults
  // (load/run.ts): a memory baseline can sit in the same table.
  if (scenario.variants.some((v) => brokerInfo(v.server.broker).service !== null)) return;
  const broker = scenario.server.broker;
  if (brokerInfo(broker).service === null) {
    problem(
      "action",
      `expected a server.broker with a backing service (${brokersWhere((b) => b.service !== null).join(", ")}) for ${action}, found broker ${JSON.stringify(broker)} (nothing outside the server to ${action.slice(7)})`,
    );
  }
}

/** A target's Redis is one rtbench provides only when its command or files use `{redisUrl}`. */
function providedRedisProblem(
  target: TargetOptions,
  action: Action,
  why: string,
  problem: FieldProblem,
): void {
  if (!target.command?.needsRedis) {
    problem(
      "action",
      `expected {redisUrl} in target.command or its files for ${action} (${why}), found none`,
    );
  }
}
