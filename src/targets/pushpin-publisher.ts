import type { Pool } from "undici";
import { createTrackedPool, errorAnswerText } from "../clients/http.js";
import type { Publisher } from "../clients/publishers.js";
import type { ClientContext } from "../clients/types.js";
import { compileTemplate, fillTemplate, type Template } from "./template.js";
import type { PublishTemplate } from "./types.js";
import { PathTemplate } from "./wire.js";

/**
 * Publishes through Pushpin's publish API: one `POST /publish/` per message
 * with one item, `{"items": [{channel, id, formats}]}`, whose formats say
 * what each kind of subscriber gets: `http-response` answers a held long
 * poll, `http-stream` is appended to an SSE stream, `ws-message` is sent to
 * a WebSocket. Each carries the stamped body untouched, inside the reference
 * wire's shapes (pushpin-wire.ts reads them).
 *
 * The ids are the publisher's, as in GRIP: per channel, in publishing order;
 * they are the cursors subscribers resume from. No `prev-id`: the chain is
 * the application's to know (the example origin adds the one it kept), and
 * a chain the publisher wrote would name a publish that was refused on its
 * way, which Pushpin then waits for (message_wait) before delivering the
 * next. A 2xx answer acknowledges the publish.
 */
export function createPushpinPublisher(
  controlUrl: string,
  template: PublishTemplate,
  options: { connections: number; context: ClientContext },
): Publisher {
  return new PushpinPublisher(controlUrl, template, options.connections, options.context);
}

/** Ids of one run's publisher, apart from any earlier run's on the same channels. */
function idPrefix(): string {
  return `${Date.now().toString(36)}${Math.floor(Math.random() * 36 ** 3).toString(36)}-`;
}

class PushpinPublisher implements Publisher {
  private readonly pool: Pool;
  private readonly path: PathTemplate;
  private readonly prefix = idPrefix();
  /** The last id given on each channel. */
  private readonly lastIds = new Map<string, number>();
  private readonly headers: [string, Template][];

  constructor(
    private readonly controlUrl: string,
    template: PublishTemplate,
    connections: number,
    private readonly context: ClientContext,
  ) {
    this.pool = createTrackedPool(controlUrl, context.sockets, Math.max(1, connections));
    this.path = new PathTemplate(template.path);
    this.headers = Object.entries(template.headers).map(([name, value]) => [
      name,
      compileTemplate(value),
    ]);
  }

  async publish(channel: string, body: unknown, signal?: AbortSignal): Promise<{ id: string }> {
    const previous = this.lastIds.get(channel) ?? 0;
    this.lastIds.set(channel, previous + 1);
    const id = `${this.prefix}${previous + 1}`;
    const path = this.path.fill(this.controlUrl, { channel });
    const headers: Record<string, string> = {};
    for (const [name, value] of this.headers) headers[name] = fillTemplate(value, { channel });
    this.context.counters.requests++;
    const response = await this.pool.request({
      method: "POST",
      path,
      headers,
      body: publishRequest(channel, id, JSON.stringify(body)),
      signal,
    });
    const text = await response.body.text();
    if (response.statusCode < 200 || response.statusCode > 299) {
      throw new Error(
        `POST ${new URL(path, this.controlUrl).href}: expected a 2xx status, found ${response.statusCode} (${errorAnswerText(text)})`,
      );
    }
    return { id };
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}

/** The publish API request for one message; the body's JSON is written once and embedded. */
export function publishRequest(channel: string, id: string, bodyJson: string): string {
  const idJson = JSON.stringify(id);
  const message = `{"type":"message","id":${idJson},"channel":${JSON.stringify(channel)},"body":${bodyJson}}`;
  return JSON.stringify({
    items: [
      {
        channel,
        id,
        formats: {
          "http-response": {
            headers: { "content-type": "application/json" },
            body: `{"messages":[${message}],"cursor":${idJson}}`,
          },
          "http-stream": { content: `id: ${id}\nevent: message\ndata: ${message}\n\n` },
          "ws-message": { content: message },
        },
      },
    ],
  });
}
