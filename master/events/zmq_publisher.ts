/**
 * LAVA's ZeroMQ event stream: a PUB socket sending lab events as five frames
 * (topic, uuid, datetime, username, JSON data), so `lavacli events wait` and
 * existing listeners work unchanged. A subscriber that is slow or gone only
 * loses events, as with LAVA: the publisher never waits.
 *
 * Anyone who can reach the socket may subscribe, without a name, so it carries
 * only what an anonymous user may see (LAVA's publisher sends everything there
 * and filters only its WebSocket): no personal or group job, nothing about a
 * device hidden from anonymous users.
 */
import type { ZmqReactor } from "../../actors/transport/zmq/reactor.ts";
import { SocketType } from "../../actors/transport/zmq/ffi.ts";
import type { EventAudience } from "../lab/event_audience.ts";
import { eventFrames } from "../lab/events.ts";

const encoder = new TextEncoder();

export interface Publisher {
  /** The endpoint really bound (the port, when asked for `*`). */
  readonly endpoint: string;
  close(): Promise<void>;
}

export async function publishEvents(
  reactor: ZmqReactor,
  audience: EventAudience,
  endpoint: string,
): Promise<Publisher> {
  let bound = endpoint;
  const socket = await reactor.socket(SocketType.PUB, (s) => {
    bound = s.bind(endpoint);
  });
  const unsubscribe = await audience.subscribe(undefined, (event) => {
    socket.send(eventFrames(event).map((f) => encoder.encode(f) as Uint8Array<ArrayBuffer>));
  });
  return {
    endpoint: bound,
    async close() {
      unsubscribe();
      await socket.close();
    },
  };
}
