import { assertEquals } from "../../../tests/support/assert.ts";
import { Option, SocketType } from "./ffi.ts";
import { ZmqReactor } from "./reactor.ts";
import type { ReceivedMessage } from "./socket.ts";

const text = (s: string) => new TextEncoder().encode(s);
const decode = (b: Uint8Array) => new TextDecoder().decode(b);

Deno.test("a DEALER and a ROUTER exchange multipart messages in order through the reactor", async () => {
  const reactor = new ZmqReactor();
  try {
    const atRouter: ReceivedMessage[] = [];
    let endpoint = "";
    const router = await reactor.socket(SocketType.ROUTER, (s) => {
      s.setInt(Option.ROUTER_MANDATORY, 1);
      endpoint = s.bind("tcp://127.0.0.1:*");
    }, (m) => {
      atRouter.push(m);
      router.send([m.frames[0] as Uint8Array<ArrayBuffer>, text(`echo ${decode(m.frames[1])}`)]);
    });
    const echoes: string[] = [];
    const { promise: done, resolve } = Promise.withResolvers<void>();
    const dealer = await reactor.socket(SocketType.DEALER, (s) => {
      s.setString(Option.ROUTING_ID, "worker-1");
      s.connect(endpoint);
    }, (m) => {
      echoes.push(decode(m.frames[0]));
      if (echoes.length === 1000) resolve();
    });
    for (let i = 0; i < 1000; i++) dealer.send([text(String(i))]);
    await done;
    assertEquals(echoes, Array.from({ length: 1000 }, (_, i) => `echo ${i}`));
    assertEquals(decode(atRouter[0].frames[0]), "worker-1");
    assertEquals(atRouter[0].userId, undefined);
  } finally {
    await reactor.close();
  }
});

Deno.test("a ROUTER send to an unknown peer is dropped and counted, not fatal", async () => {
  const reactor = new ZmqReactor();
  try {
    const router = await reactor.socket(SocketType.ROUTER, (s) => {
      s.setInt(Option.ROUTER_MANDATORY, 1);
      s.bind("tcp://127.0.0.1:*");
    });
    router.send([text("nobody"), text("hello")]);
    await router.configure(() => {});
    await router.configure(() => {});
    assertEquals(router.dropped, 1);
  } finally {
    await reactor.close();
  }
});
