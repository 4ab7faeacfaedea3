import { assertEquals } from "../../tests/support/assert.ts";
import { decodeMessage, encodeMessage, type Envelope, PROTOCOL_VERSION } from "./envelope.ts";

const envelope = (kind: string, seq?: number): Envelope => ({
  v: PROTOCOL_VERSION,
  from: "w1",
  to: "job/1",
  kind,
  epoch: "e1",
  ...(seq !== undefined ? { seq } : {}),
});
const kinds = new Set(["job.log", "console.output"]);
const transient = new Set(["console.output"]);

Deno.test("a transient kind travels without a sequence number and a reliable kind never does", () => {
  const reason = (e: Envelope) => {
    const decoded = decodeMessage(encodeMessage(e, { job: "1" }), kinds, transient);
    return "reason" in decoded ? decoded.detail : "decoded";
  };
  assertEquals(reason(envelope("console.output")), "decoded");
  assertEquals(reason(envelope("job.log", 1)), "decoded");
  assertEquals(reason(envelope("job.log")), "job.log needs a sequence number");
  assertEquals(reason(envelope("console.output", 3)), "console.output is transient: it has no sequence number");
});
