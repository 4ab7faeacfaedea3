/**
 * The lab's event stream, in LAVA's shape: a topic (`org.lavasoftware.testjob`,
 * `.device`, `.worker`, `.event`), a uuid, the time, a username and JSON data.
 * The ZeroMQ publisher, the browsers' server-sent events and webhooks all read
 * from here. Subscribers are called synchronously and must not throw; a
 * subscriber that does is dropped rather than allowed to break the master.
 */

export const EVENT_TOPIC = "org.lavasoftware";

export type EventKind = "testjob" | "device" | "worker" | "event";

export interface LabEvent {
  readonly topic: string;
  readonly kind: EventKind;
  readonly uuid: string;
  /** ISO 8601, UTC. */
  readonly datetime: string;
  readonly username: string;
  readonly data: Record<string, unknown>;
}

export type EventListener = (event: LabEvent) => void;

export class EventHub {
  readonly #listeners = new Set<EventListener>();
  #published = 0;

  constructor(readonly topicPrefix = EVENT_TOPIC) {}

  get published(): number {
    return this.#published;
  }

  /** Returns the function that unsubscribes. */
  subscribe(listener: EventListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  publish(kind: EventKind, username: string, data: Record<string, unknown>): LabEvent {
    const event: LabEvent = {
      topic: `${this.topicPrefix}.${kind}`,
      kind,
      uuid: crypto.randomUUID(),
      datetime: new Date().toISOString(),
      username,
      data,
    };
    this.#published++;
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        this.#listeners.delete(listener);
      }
    }
    return event;
  }
}

/** LAVA's five frames: topic, uuid, datetime, username, JSON data. */
export function eventFrames(event: LabEvent): string[] {
  return [event.topic, event.uuid, event.datetime, event.username, JSON.stringify(event.data)];
}
