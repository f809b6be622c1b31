import { io, type Socket } from "socket.io-client";
import { originOf } from "../clients/http.js";
import type { Publisher } from "../clients/publishers.js";
import type { ClientContext } from "../clients/types.js";
import { TrackedAgent } from "./socketio-client.js";
import type { SocketIoTemplate } from "./types.js";
import { JsonTextTemplate } from "./wire.js";

/** An acknowledgement later than this fails the publish (the publisher loop gives up sooner). */
const ACK_TIMEOUT_MS = 10_000;

/**
 * Publishes by emitting an event on one Socket.IO connection per server
 * instance. With `ack`, the server's acknowledgement callback answers each
 * publish; without it a publish counts as sent once handed to the socket
 * (the result says so). This connection reconnects by itself: the publisher
 * is not what is measured.
 */
export function createSocketIoPublisher(
  baseUrl: string,
  template: SocketIoTemplate,
  context: ClientContext,
): Publisher {
  return new SocketIoPublisher(baseUrl, template, context);
}

class SocketIoPublisher implements Publisher {
  private readonly socket: Socket;
  private readonly payload: JsonTextTemplate;
  private readonly agent: TrackedAgent;

  constructor(
    baseUrl: string,
    private readonly template: SocketIoTemplate,
    context: ClientContext,
  ) {
    this.payload = new JsonTextTemplate(template.publishPayload);
    this.agent = new TrackedAgent(context);
    this.socket = io(originOf(baseUrl), {
      path: template.path,
      transports: ["websocket"],
      forceNew: true,
      agent: this.agent as unknown as string,
      reconnectionDelay: 100,
      reconnectionDelayMax: 1000,
    });
  }

  async publish(channel: string, body: unknown): Promise<{ id: string }> {
    const payload: unknown = JSON.parse(this.payload.fill({ channel }, JSON.stringify(body)));
    if (!this.template.ack) {
      this.socket.emit(this.template.publishEvent, payload);
      return { id: "" };
    }
    const answer: unknown = await this.socket
      .timeout(ACK_TIMEOUT_MS)
      .emitWithAck(this.template.publishEvent, payload);
    // An acknowledgement may carry an error for a refused publish: `{error: "..."}`.
    if (typeof answer === "object" && answer !== null && "error" in answer) {
      throw new Error(`${this.template.publishEvent} refused: ${String(answer.error)}`);
    }
    return { id: "" };
  }

  async close(): Promise<void> {
    this.socket.disconnect();
    this.agent.destroy();
  }
}
