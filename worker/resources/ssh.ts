/**
 * How a device is reached over SSH, as its configuration says (LAVA's
 * `actions.deploy.methods.ssh`: options, host, port, user, identity_file). Every
 * value goes onto ssh's and scp's command lines as an argument of its own, so
 * each is checked for what could make it an option instead (a host starting
 * with "-" would be one).
 */
import { isAbsolute } from "../../actors/path.ts";
import { ConfigurationError } from "../job/errors.ts";
import { Reader } from "./device.ts";
import { isMapping } from "../../actors/definitions/schema.ts";

export interface SshResource {
  /** The device's own options for ssh and scp (`-o Compression=yes`...). */
  readonly options: readonly string[];
  /** The address of a primary connection (empty for a MultiNode guest, whose host comes from its host role). */
  readonly host: string;
  readonly port: number;
  readonly user: string;
  /** The private key ssh and scp authenticate with, if any. */
  readonly identityFile?: string;
}

const SSH = ["actions", "deploy", "methods", "ssh"];
// An IPv6 address without brackets: ssh takes it so, and scp's destination gets them added.
const HOST = /^[A-Za-z0-9_.:%-]+$/;
const USER = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/** Whether `host` may go onto ssh's command line as the machine to reach (never an option). */
export function isSshHost(host: string): boolean {
  return !host.startsWith("-") && HOST.test(host);
}

/**
 * Why an address another job sent (a MultiNode host role's `lava-send ipv4 ipaddr=...`) may not be logged into with
 * the lab's key, or undefined when it may: it must be the device's own configured address, or an IP address that is
 * neither this worker's (any of its interfaces) nor loopback, unspecified, link-local or multicast — else a job could
 * have the worker log into itself, or into another job's device.
 */
export function refusedGuestTarget(host: string, device: readonly (string | undefined)[]): string | undefined {
  if (device.includes(host)) return undefined;
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (v4) {
    const [a, b] = [Number(v4[1]), Number(v4[2])];
    if (v4.slice(1).some((o) => Number(o) > 255)) return "not an IP address";
    if (a === 127 || a === 0 || a >= 224 || (a === 169 && b === 254)) {
      return "a loopback, link-local or special address";
    }
  } else if (host.includes(":")) {
    const lower = host.toLowerCase();
    if (lower === "::1" || lower === "::" || /^fe[89ab]/.test(lower) || lower.startsWith("ff")) {
      return "a loopback, link-local or special address";
    }
    if (lower.startsWith("::ffff:")) return refusedGuestTarget(lower.slice(7), device);
  } else {
    return "not an IP address (a name could resolve anywhere)";
  }
  const own = Deno.networkInterfaces().some((i) => i.address.toLowerCase() === host.toLowerCase());
  return own ? "this worker's own address" : undefined;
}

/** The device's SSH parameters; a device without them cannot be deployed to or booted over SSH. */
export function sshResource(config: unknown): SshResource {
  const r = new Reader(isMapping(config) ? config : {});
  if (!isMapping(r.at(SSH))) {
    throw new ConfigurationError("Invalid device configuration - no suitable deploy method for ssh");
  }
  const field = (key: string) => [...SSH, key].join(".");
  const options = r.at([...SSH, "options"]) === undefined ? [] : r.words([...SSH, "options"]);
  const host = r.text([...SSH, "host"], "");
  if (host !== "" && !isSshHost(host)) {
    throw new ConfigurationError(`device configuration ${field("host")}: ${JSON.stringify(host)} is not a host name`);
  }
  const portText = r.text([...SSH, "port"], "22");
  const port = Number(portText);
  if (!/^[0-9]+$/.test(portText) || port < 1 || port > 65535) {
    throw new ConfigurationError(`device configuration ${field("port")}: Port was set but was not a digit`);
  }
  const user = r.text([...SSH, "user"], "") || "root";
  if (!USER.test(user)) {
    throw new ConfigurationError(`device configuration ${field("user")}: ${JSON.stringify(user)} is not a user name`);
  }
  const identity = r.text([...SSH, "identity_file"], "");
  if (identity !== "" && !isAbsolute(identity)) {
    // LAVA resolves relative names inside its own package, whose bundled key Basalt does not ship.
    throw new ConfigurationError(
      `device configuration ${field("identity_file")}: ${JSON.stringify(identity)} must be an absolute path ` +
        "to a private key on the worker",
    );
  }
  return { options, host, port, user, ...(identity ? { identityFile: identity } : {}) };
}

/**
 * What ssh and scp both need after the device's options: no prompt of any kind (the job's own `knownHosts` file,
 * which starts empty — LAVA gives /dev/null; a file in the job's directory also names the job on the command line,
 * so the worker finds the client if the dispatcher dies), the key.
 */
export function sshCommonArguments(ssh: SshResource, knownHosts = "/dev/null"): string[] {
  return [
    ...ssh.options,
    ...["-o", `UserKnownHostsFile=${knownHosts}`, "-o", "StrictHostKeyChecking=no"],
    // A key or password the device cannot give fails at once instead of waiting for a person at a prompt.
    ...["-o", "BatchMode=yes"],
    ...(ssh.identityFile ? ["-i", ssh.identityFile] : []),
  ];
}
