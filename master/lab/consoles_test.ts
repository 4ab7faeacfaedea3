import { assertEquals } from "../../tests/support/assert.ts";
import type { DownFrame } from "../../actors/lab/console_frames.ts";
import { memoryLogger } from "../../actors/runtime/log.ts";
import { Consoles, parseViewerRequest, type Viewer, type ViewerFrame } from "./consoles.ts";
import type { ActiveJob } from "./registry.ts";

/** A lab with reservation 7 running on qemu01 (worker w1), reserved by user 1; user 3 is an administrator. */
function lab() {
  const sent: { worker: string; job: string; frame: DownFrame }[] = [];
  const ended: string[] = [];
  let allowed = new Set([1, 2, 3]);
  const facts = { id: 7, displayId: "7", submitter: 1, reservation: true } as unknown as ActiveJob;
  let running = true;
  const consoles = new Consoles({
    registry: {
      facts: (id) => (id === 7 && running ? facts : undefined),
      jobSnapshot: (id) =>
        id === 7 && running
          ? {
            state: "Running",
            context: { id: "7", worker: "w1", device: "qemu01", healthCheck: false, health: "Unknown" },
          }
          : undefined,
      jobIds: () => (running ? [7] : []),
    },
    sendDown: (worker, job, frame) => {
      sent.push({ worker, job, frame });
      return true;
    },
    mayUse: (user) => allowed.has(user),
    isAdministrator: (user) => user === 3,
    end: (job, reason) => ended.push(`${job}: ${reason}`),
    logger: memoryLogger("master"),
  });
  const viewer = (userId: number, username: string) => {
    const frames: ViewerFrame[] = [];
    let closed = false;
    const v: Viewer = { userId, username, send: (f) => (frames.push(f), true), close: () => closed = true };
    return { v, frames, closed: () => closed };
  };
  return {
    consoles,
    sent,
    ended,
    viewer,
    revoke: (user: number) => allowed = new Set([...allowed].filter((u) => u !== user)),
    stop: () => running = false,
  };
}

Deno.test("the reserver holds the keyboard; other viewers watch, are refused, and an administrator may take it", () => {
  const l = lab();
  l.consoles.up("w1", 7, { t: "output", data: "/ # " });
  const alice = l.viewer(1, "alice");
  const bob = l.viewer(2, "bob");
  const admin = l.viewer(3, "admin");
  const a = l.consoles.join(7, alice.v);
  const b = l.consoles.join(7, bob.v);
  // A newcomer is sent the screen so far.
  assertEquals(alice.frames[0], { t: "output", data: "/ # " });
  assertEquals(alice.frames.at(-1), { t: "keyboard", holder: "alice", yours: true });
  assertEquals(bob.frames.at(-1), { t: "keyboard", holder: "alice", yours: false });
  a.request({ t: "input", data: "ls\r" });
  b.request({ t: "input", data: "reboot\r" });
  b.request({ t: "take" });
  assertEquals(bob.frames.slice(-2), [
    { t: "notice", text: "alice holds the keyboard" },
    { t: "notice", text: "only the person who reserved the device or an administrator may type" },
  ]);
  const c = l.consoles.join(7, admin.v);
  c.request({ t: "take" });
  c.request({ t: "power", action: "reset" });
  a.request({ t: "release" });
  assertEquals(l.sent.map((s) => s.frame), [
    { t: "holder", by: "alice" },
    { t: "input", data: "ls\r" },
    { t: "holder", by: "admin" },
    { t: "power", action: "reset", by: "admin" },
  ]);
  assertEquals(alice.frames.at(-1), { t: "notice", text: "admin holds the keyboard" });
  // The keyboard's holder leaving hands it to the next who may type.
  c.leave();
  assertEquals(alice.frames.at(-1), { t: "keyboard", holder: "alice", yours: true });
});

Deno.test("the holder is said again to a worker's console that connects after it was given the keyboard", () => {
  const l = lab();
  l.consoles.join(7, l.viewer(1, "alice").v);
  // The worker's relay attaches (or a restarted worker attaches again): its greeting is a state frame.
  l.consoles.up("w1", 7, { t: "state", power: "on", endsAt: "2026-12-05T08:00:00.000Z" });
  l.consoles.up("w1", 7, { t: "output", data: "/ # " });
  assertEquals(l.sent.map((s) => s.frame), [{ t: "holder", by: "alice" }, { t: "holder", by: "alice" }]);
});

Deno.test("only the worker running the reservation feeds its console, and its end closes every viewer", () => {
  const l = lab();
  const alice = l.viewer(1, "alice");
  l.consoles.join(7, alice.v);
  l.consoles.up("w2", 7, { t: "output", data: "forged" });
  l.consoles.up("w1", 7, { t: "output", data: "real" });
  assertEquals(alice.frames.filter((f) => f.t === "output"), [{ t: "output", data: "real" }]);
  l.consoles.ended(7);
  assertEquals(alice.frames.at(-1), { t: "ended", reason: "the reservation has ended" });
  assertEquals(alice.closed(), true);
  l.stop();
  let refused = "";
  try {
    l.consoles.join(7, l.viewer(1, "alice").v);
  } catch (error) {
    refused = (error as Error).message;
  }
  assertEquals(refused, "job 7 is not a running reservation");
});

Deno.test("a holder who may no longer use the device has the reservation ended, and is refused meanwhile", () => {
  const l = lab();
  const alice = l.viewer(1, "alice");
  const a = l.consoles.join(7, alice.v);
  l.revoke(1);
  a.request({ t: "input", data: "x" });
  assertEquals(alice.frames.at(-1), { t: "notice", text: "you may no longer use this device" });
  l.consoles.accessChanged();
  assertEquals(l.ended, ["7: the holder may no longer use the device"]);
});

Deno.test("what viewers send is read as requests only when well formed and within bounds", () => {
  assertEquals(parseViewerRequest('{"t":"input","data":"ls\\r"}'), { t: "input", data: "ls\r" });
  assertEquals(parseViewerRequest('{"t":"power","action":"off"}'), { t: "power", action: "off" });
  assertEquals(parseViewerRequest('{"t":"power","action":"explode"}'), undefined);
  assertEquals(parseViewerRequest(`{"t":"input","data":"${"x".repeat(5000)}"}`), undefined);
  assertEquals(parseViewerRequest("not json"), undefined);
  assertEquals(parseViewerRequest('{"t":"boot","definition":"job_name: x"}'), { t: "boot", definition: "job_name: x" });
  assertEquals(parseViewerRequest(new ArrayBuffer(4)), undefined);
});
