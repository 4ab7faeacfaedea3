/**
 * A real TFTP server for tests: Debian's dnsmasq (dnsmasq-base: the program, no
 * service) serving `root` on 127.0.0.1 port 69 and nothing else (no DNS, no DHCP),
 * where a QEMU board on the user network reaches it as 10.0.2.2. Unlike QEMU's own
 * server it can be taken away mid-transfer. Stopped by PID.
 */
import { whenChanged } from "../../worker/drivers/file_watch.ts";

export interface TftpServer {
  /** Kills the server at once, as a crashed or unplugged one: transfers stop mid-way. */
  kill(): Promise<void>;
}

export async function startTftpServer(root: string): Promise<TftpServer> {
  const dir = await Deno.makeTempDir({ prefix: "basalt-tftpd-" });
  const log = `${dir}/dnsmasq.log`;
  await Deno.writeTextFile(log, "");
  const child = new Deno.Command("dnsmasq", {
    args: [
      "--keep-in-foreground",
      "--conf-file=/dev/null",
      "--port=0",
      "--enable-tftp",
      `--tftp-root=${root}`,
      "--listen-address=127.0.0.1",
      "--bind-interfaces",
      // The job's directories are the worker's (root's); a TFTP server of the lab would run as their owner's group.
      "--user=root",
      `--pid-file=${dir}/dnsmasq.pid`,
      `--log-facility=${log}`,
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  let up = false;
  const died = child.status.then(async (status) => {
    if (!up) throw new Error(`dnsmasq exited (${status.code}): ${(await stderr).trim()}`);
  });
  await Promise.race([
    whenChanged(dir, async () => (await Deno.readTextFile(log)).includes("TFTP root is"), 20_000, "dnsmasq's TFTP"),
    died,
  ]);
  up = true;
  let killed = false;
  return {
    kill: async () => {
      if (!killed) {
        killed = true;
        try {
          child.kill("SIGKILL");
        } catch { /* gone already */ }
      }
      await child.status;
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}
