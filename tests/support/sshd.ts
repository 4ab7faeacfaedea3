/**
 * A real OpenSSH server for tests (Debian's openssh-server): on 127.0.0.1 at a
 * free port, its host key, the client key it accepts for root and its
 * configuration in a directory of its own, no password login; stopped by PID.
 * The machine it serves is this one: what a test writes there goes under `dir`.
 */
import { freePort } from "../../worker/drivers/free_port.ts";
import { lines } from "../../worker/drivers/transports.ts";

export interface Sshd {
  readonly port: number;
  /** The listening server's process: each connection is served by a child of it. */
  readonly pid: number;
  /** The private key that logs in as root. */
  readonly identityFile: string;
  /** A directory for what the tests put on the machine. */
  readonly dir: string;
  /** Stops the server at once, the processes serving its connections with it (they outlive their parent). */
  stop(): Promise<void>;
}

async function keygen(file: string): Promise<void> {
  const made = await new Deno.Command("ssh-keygen", {
    args: ["-q", "-t", "ed25519", "-N", "", "-C", "basalt-test", "-f", file],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!made.success) throw new Error(`ssh-keygen: ${new TextDecoder().decode(made.stderr)}`);
}

export async function startSshd(): Promise<Sshd> {
  const dir = await Deno.makeTempDir({ prefix: "basalt-sshd-" });
  const port = freePort();
  await keygen(`${dir}/host_key`);
  await keygen(`${dir}/id`);
  await Deno.copyFile(`${dir}/id.pub`, `${dir}/authorized_keys`);
  await Deno.writeTextFile(
    `${dir}/sshd_config`,
    [
      `Port ${port}`,
      "ListenAddress 127.0.0.1",
      `HostKey ${dir}/host_key`,
      `PidFile ${dir}/sshd.pid`,
      `AuthorizedKeysFile ${dir}/authorized_keys`,
      "PermitRootLogin prohibit-password",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "UsePAM no",
      // The test's directory is not root's own home: sshd must not refuse its modes.
      "StrictModes no",
      "PrintMotd no",
      "PrintLastLog no",
      // scp speaks SFTP to the server (OpenSSH 9).
      "Subsystem sftp internal-sftp",
      "",
    ].join("\n"),
  );
  // sshd's privilege separation needs this directory, which a machine without its service may lack.
  await Deno.mkdir("/run/sshd", { recursive: true, mode: 0o755 });
  const child = new Deno.Command("/usr/sbin/sshd", {
    args: ["-D", "-e", "-f", `${dir}/sshd_config`],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const log: string[] = [];
  const listening = (async () => {
    for await (const line of lines(child.stderr)) {
      if (log.length < 200) log.push(line);
      if (line.includes(`Server listening on 127.0.0.1 port ${port}`)) return true;
    }
    return false;
  })();
  const up = await Promise.race([
    listening,
    new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 10_000)),
  ]);
  if (!up) {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
    await child.status;
    throw new Error(`sshd did not start: ${log.join("\n")}`);
  }
  let stopped = false;
  return {
    port,
    pid: child.pid,
    identityFile: `${dir}/id`,
    dir,
    stop: async () => {
      if (!stopped) {
        stopped = true;
        await new Deno.Command("pkill", { args: ["-KILL", "-P", String(child.pid)] }).output();
        try {
          child.kill("SIGKILL");
        } catch { /* gone */ }
      }
      await child.status;
      await child.stderr.cancel().catch(() => {});
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}
