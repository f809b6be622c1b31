import { createServer } from "node:tls";
import { describe, expect, it } from "vitest";
import { connectSocket, createClientTlsState } from "../src/clients/tls.js";
import { createThrowawayCertificates } from "../src/util/throwaway-ca.js";

/**
 * A client's TLS connection, as clients/tls.ts makes it: bytes counted are
 * the wire's (records, handshake and certificate included), not the
 * plaintext; the phases are timed apart; a second connection resumes.
 */
describe("connectSocket over TLS", () => {
  it("counts wire bytes, times TCP and TLS apart, and resumes the origin's session", async () => {
    const certs = createThrowawayCertificates();
    const ANSWER = 1000;
    const server = createServer({ cert: certs.certPem, key: certs.keyPem }, (socket) => {
      socket.end("x".repeat(ANSWER));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    const tls = createClientTlsState({ ca: certs.caPem, insecure: false, sessionResumption: true });
    const phases = { tcp: [] as number[], tls: [] as boolean[], http: [] as number[] };
    const recorder = {
      tcp: (ms: number) => phases.tcp.push(ms),
      tls: (_ms: number, resumed: boolean) => phases.tls.push(resumed),
      http: (ms: number) => phases.http.push(ms),
    };
    const once = () =>
      new Promise<{ plaintext: number; wire: number }>((resolve, reject) => {
        const socket = connectSocket({ host: "127.0.0.1", port, secure: true }, tls, recorder);
        let plaintext = 0;
        socket.on("data", (chunk: Buffer) => {
          plaintext += chunk.length;
        });
        socket.on("error", reject);
        socket.on("close", () => resolve({ plaintext, wire: socket.bytesRead }));
      });
    try {
      const first = await once();
      expect(first.plaintext).toBe(ANSWER);
      // The certificate alone is most of a kilobyte; records add their headers and tags.
      expect(first.wire).toBeGreaterThan(ANSWER + 500);
      const second = await once();
      expect(second.plaintext).toBe(ANSWER);
      // Resumed: no certificate this time.
      expect(second.wire).toBeLessThan(first.wire);
      expect(phases.tls).toEqual([false, true]);
      expect(phases.tcp).toHaveLength(2);
      expect(phases.http).toHaveLength(2);
    } finally {
      server.close();
    }
  });
});
