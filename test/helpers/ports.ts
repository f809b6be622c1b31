import { createServer } from "node:net";

/** A port no socket of this machine holds now on `address` (the system's pick, released). */
export async function freePort(address = "127.0.0.1"): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, address, resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}
