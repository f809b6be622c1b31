// The NATS broker's signals (presence event batches): fire-and-forget on a
// core subject per channel, heard by every instance; not stored, no id, no
// resume. One core subscription per channel however many listeners this
// instance has, dropped with its last listener.
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import type { SignalListener, Unsubscribe } from "./types.js";

export class NatsSignals {
  private readonly subjects = new Map<
    string,
    { listeners: Set<SignalListener>; sub: Subscription }
  >();

  constructor(private readonly nc: NatsConnection) {}

  publish(subject: string, json: string): void {
    this.nc.publish(subject, json);
  }

  async subscribe(subject: string, listener: SignalListener): Promise<Unsubscribe> {
    let entry = this.subjects.get(subject);
    if (!entry) {
      const listeners = new Set<SignalListener>();
      const sub = this.nc.subscribe(subject, {
        callback: (_error, msg) => {
          for (const each of listeners) each(msg.string());
        },
      });
      entry = { listeners, sub };
      this.subjects.set(subject, entry);
      await this.nc.flush();
    }
    entry.listeners.add(listener);
    const subscribed = entry;
    return () => {
      subscribed.listeners.delete(listener);
      if (subscribed.listeners.size > 0 || this.subjects.get(subject) !== subscribed) return;
      this.subjects.delete(subject);
      subscribed.sub.unsubscribe();
    };
  }
}
