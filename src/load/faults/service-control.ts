/**
 * The control over a broker's backing service (Redis, NATS) that rtbench
 * started: what the broker faults do to it (faults.ts), and the run's final
 * stop.
 */

import type { RunningService } from "../../services/types.js";
import { signalProcess } from "../../util/proc.js";
import type { ServiceControl } from "./faults.js";

/**
 * Stop/start over a backing service rtbench started, always acting on its
 * current process: after a restart the original handle is dead, so the run
 * must stop the service through this control (its `stop()` is also the final
 * cleanup).
 */
export function controlService(server: RunningService): ServiceControl & { readonly url: string } {
  let current = server;
  let down = false;
  let frozen = false;
  const thaw = () => {
    if (!frozen) return;
    frozen = false;
    signalProcess(current.pid, "SIGCONT");
  };
  return {
    url: server.url,
    async stop() {
      thaw();
      down = true;
      await current.stop();
    },
    async start() {
      if (!down) return;
      // restart() on a stopped server only starts a fresh one on the same port.
      current = await current.restart();
      down = false;
    },
    async crash() {
      thaw();
      down = true;
      await current.kill();
    },
    async restart() {
      thaw();
      down = true;
      current = await current.restart();
      down = false;
    },
    freeze() {
      if (down || frozen) return;
      frozen = true;
      signalProcess(current.pid, "SIGSTOP");
    },
    thaw,
  };
}
