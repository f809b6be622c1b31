import type { Pool } from "undici";
import { createTrackedPool, errorAnswerText } from "../clients/http.js";
import type { Publisher } from "../clients/publishers.js";
import type { ClientContext } from "../clients/types.js";
import { compileTemplate, fillTemplate, type Template } from "./template.js";
import type { PublishTemplate } from "./types.js";
import { JsonTextTemplate, PathTemplate } from "./wire.js";

/**
 * Publishes by one HTTP request per message, as a target's `publish:`
 * template says: a 2xx answer is the server's acknowledgement, anything else
 * a failed publish. The answer's body is not read for an id: rtbench's
 * accounting comes from the stamped bodies, not from the server's ids.
 */
export function createTemplatePublisher(
  baseUrl: string,
  template: PublishTemplate,
  options: { connections: number; context: ClientContext },
): Publisher {
  return new TemplatePublisher(baseUrl, template, options.connections, options.context);
}

class TemplatePublisher implements Publisher {
  private readonly pool: Pool;
  private readonly path: PathTemplate;
  private readonly body: JsonTextTemplate;
  private readonly headers: [string, Template][];

  constructor(
    private readonly baseUrl: string,
    private readonly template: PublishTemplate,
    connections: number,
    private readonly context: ClientContext,
  ) {
    this.pool = createTrackedPool(baseUrl, context.sockets, Math.max(1, connections));
    this.path = new PathTemplate(template.path);
    this.body = new JsonTextTemplate(template.body);
    this.headers = Object.entries(template.headers).map(([name, value]) => [
      name,
      compileTemplate(value),
    ]);
  }

  async publish(channel: string, body: unknown): Promise<{ id: string }> {
    const values = { channel };
    const path = this.path.fill(this.baseUrl, values);
    const headers: Record<string, string> = {};
    for (const [name, value] of this.headers) headers[name] = fillTemplate(value, values);
    this.context.counters.requests++;
    const response = await this.pool.request({
      method: this.template.method as "POST",
      path,
      headers,
      body: this.body.fill(values, JSON.stringify(body)),
    });
    const text = await response.body.text();
    if (response.statusCode < 200 || response.statusCode > 299) {
      throw new Error(
        `${this.template.method} ${path}: expected a 2xx status, found ${response.statusCode} (${errorAnswerText(text)})`,
      );
    }
    return { id: "" };
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}
