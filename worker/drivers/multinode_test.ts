import { assertRejects, assertStringIncludes } from "../../tests/support/assert.ts";
import { encodeFrame, readFrame } from "../../actors/multinode/frame.ts";
import { JobError } from "../job/errors.ts";
import { JobLog } from "../job/log.ts";
import { MultinodeClient } from "./multinode.ts";

/** A coordinator that answers every request with `reply`, over LAVA's framing. */
function coordinator(reply: Record<string, unknown>) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = (async () => {
    for await (const conn of listener) {
      await readFrame(conn, { maxLength: 65_536 }).catch(() => "");
      await conn.write(encodeFrame(JSON.stringify(reply))).catch(() => 0);
      conn.close();
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    async close() {
      listener.close();
      await serving.catch(() => {});
    },
  };
}

function client(port: number, messages: string[]) {
  const log = new JobLog([(record) => void messages.push(String(record.msg))]);
  return new MultinodeClient(
    { host: "127.0.0.1", port, pollDelayS: 1 },
    { jobId: "7.0", group: "g1", role: "server", groupSize: 2, roles: new Map(), apiTimeoutS: 5 },
    log,
  );
}

Deno.test("a coordinator refusing the group fails the job with the coordinator's reason", async () => {
  const server = coordinator({ response: "nack", error: "the group g1 is full (2 of 2)" });
  try {
    const error = await assertRejects(() => client(server.port, []).groupData(), JobError);
    assertStringIncludes(error.message, "the group g1 is full");
  } finally {
    await server.close();
  }
});

Deno.test("a refused lava-send says why, and a refused lava-sync is logged with the reason", async () => {
  const server = coordinator({ response: "nack", error: "the group's messages are over their bound" });
  try {
    const messages: string[] = [];
    const mn = client(server.port, messages);
    const error = await assertRejects(() => mn.handleMarker("SEND", "m1 a=1"), JobError);
    assertStringIncludes(error.message, "over their bound");
    await mn.handleMarker("SYNC", "s1");
    assertStringIncludes(messages.join("\n"), "lava-sync s1 refused: the group's messages are over their bound");
  } finally {
    await server.close();
  }
});
