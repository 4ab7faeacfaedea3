import { assertEquals } from "../../tests/support/assert.ts";
import { JobLog } from "../job/log.ts";
import { Console } from "./console.ts";
import { openSerial } from "./serial.ts";

async function ptyPair(dir: string): Promise<{ a: string; b: string; stop(): Promise<void> }> {
  const a = `${dir}/ttyA`;
  const b = `${dir}/ttyB`;
  const socat = new Deno.Command("socat", {
    args: [`pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`],
    stderr: "null",
  }).spawn();
  for (let i = 0; i < 100; i++) {
    try {
      Deno.statSync(a);
      Deno.statSync(b);
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  return {
    a,
    b,
    stop: async () => {
      socat.kill();
      await socat.status;
    },
  };
}

Deno.test("a serial line carries bytes both ways through libc, 256 KiB intact", async () => {
  const dir = await Deno.makeTempDir();
  const pair = await ptyPair(dir);
  const left = await openSerial(pair.a, { baudRate: 115200 });
  const right = await openSerial(pair.b, { baudRate: 115200 });
  try {
    const data = new Uint8Array(256 * 1024).map((_, i) => (i * 7) % 251);
    const reader = right.readable.getReader();
    const writing = left.write(data);
    const received = new Uint8Array(data.length);
    let got = 0;
    while (got < data.length) {
      const { value, done } = await reader.read();
      if (done) break;
      received.set(value, got);
      got += value.length;
    }
    await writing;
    assertEquals(got, data.length);
    assertEquals(received, data);
    reader.releaseLock();
  } finally {
    await left.close();
    await right.close();
    await pair.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a console on a serial line expects and sends like any other", async () => {
  const dir = await Deno.makeTempDir();
  const pair = await ptyPair(dir);
  const device = await openSerial(pair.b);
  const console = new Console(await openSerial(pair.a), new JobLog());
  try {
    await device.write(new TextEncoder().encode("U-Boot 2024.01\r\n=> "));
    await console.expect(["=> "], 5000);
    await console.sendLine("version");
    const reader = device.readable.getReader();
    const { value } = await reader.read();
    assertEquals(new TextDecoder().decode(value), "version\n");
    reader.releaseLock();
  } finally {
    await console.close();
    await device.close();
    await pair.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
