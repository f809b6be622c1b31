// `npm run bench -- network`: RTBENCH_NETWORK_CLIENTS WebSocket clients
// (default 20,000) on the 4g profile (`clients: { network: 4g }`) next to
// the same workload unshaped, against the reference server: two instances
// over Redis (one instance admits 90 % of its open-file limit, as in the
// TLS bench), 100 channels, each client getting 1 message/s. Figures:
// connected, lost, delivery p50 shaped and unshaped, what shaping added to
// it against what the profile says it should add (one-way latency plus the
// time to serialise a delivery's bytes at the downlink), within ±5 % or
// not, and the shards' CPU per 1,000 deliveries shaped and unshaped.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { NETWORK_PRESETS } from "../dist/src/clients/network-profile.js";
import { generatorCpuPer1k } from "./tls.js";

const CLIENTS = Number(process.env.RTBENCH_NETWORK_CLIENTS ?? 20_000);
const CHANNELS = 100;
const PROFILE = "4g";
/** How far the added delay may be from the profile's, as a share of it. */
const TOLERANCE = 0.05;

function scenario(name, network) {
  return `name: ${name}
description: ${CLIENTS} WebSocket clients, 1 message/s each, ${network ? `on the ${PROFILE} profile` : "unshaped"}
protocols: [websocket]
server: { instances: 2, broker: redis }
clients: { count: ${CLIENTS}, rampUp: 40s, channels: ${CHANNELS}${network ? `, network: ${PROFILE}` : ""} }
publish: { rate: ${CHANNELS}/s }
duration: 30s
warmup: 5s
drain: 10s
`;
}

function row(result) {
  const p = result?.protocols?.websocket;
  if (!p) return { failed: true };
  const windowSeconds = ((result.setup?.durationMs ?? 0) - (result.setup?.warmupMs ?? 0)) / 1000;
  return {
    connected: p.connected,
    lost: p.lost,
    delivered: p.delivered,
    expected: p.expected,
    latencyP50Ms: p.latency?.p50,
    latencyP99Ms: p.latency?.p99,
    connectP50Ms: p.connect?.p50,
    bytesPerDelivery: p.bytesPerDelivery,
    generatorCpuSecondsPer1kDeliveries: generatorCpuPer1k(p, windowSeconds),
    reliable: result.reliable,
  };
}

export async function runNetwork(outDir, run) {
  const rows = {};
  for (const [name, network] of [
    ["plain", false],
    ["shaped", true],
  ]) {
    const scenarioName = `network-${name}-${CLIENTS}`;
    const file = join(outDir, `${scenarioName}.yaml`);
    writeFileSync(file, scenario(scenarioName, network));
    const [result] = run(scenarioName, [file]);
    rows[name] = row(result);
  }
  const { plain, shaped } = rows;
  const profile = NETWORK_PRESETS[PROFILE];
  let vsProfile = null;
  if (plain.latencyP50Ms !== undefined && shaped.latencyP50Ms !== undefined) {
    // A delivery's bytes cross the downlink before the latency: its serialisation is the profile's too.
    const serialiseMs = ((shaped.bytesPerDelivery ?? 0) * 1000) / profile.downBytesPerSec;
    const profileAddsMs = profile.latencyMs + serialiseMs;
    const addedMs = shaped.latencyP50Ms - plain.latencyP50Ms;
    const offPct = (addedMs / profileAddsMs - 1) * 100;
    vsProfile = {
      profileAddsMs: +profileAddsMs.toFixed(2),
      addedP50Ms: +addedMs.toFixed(2),
      offPct: +offPct.toFixed(1),
      withinTolerance: Math.abs(offPct) <= TOLERANCE * 100,
    };
  }
  const plainCpu = plain.generatorCpuSecondsPer1kDeliveries;
  const shapedCpu = shaped.generatorCpuSecondsPer1kDeliveries;
  const summary = {
    clients: CLIENTS,
    profile: PROFILE,
    rows,
    vsProfile,
    generatorCpuRatioShapedToPlain:
      plainCpu && shapedCpu ? +(shapedCpu / plainCpu).toFixed(2) : null,
  };
  writeFileSync(join(outDir, "network.json"), `${JSON.stringify(summary, null, 2)}\n`);
  process.stdout.write(`\n## network\n\n${JSON.stringify(summary, null, 2)}\n`);
}
