/**
 * LAVA's `ssh` boot: nothing is booted — a running machine is logged into over
 * SSH (`login-ssh`). The overlay the ssh deploy packed is copied with scp beside
 * the device's results directory, an `ssh -tt` session becomes the job's console,
 * the login and shell actions run on it, and the overlay is unpacked there (its
 * exit status read back). The machine's power, if it has any, is not touched.
 */
import { basename, join } from "../../../actors/path.ts";
import { shape } from "../../../actors/definitions/pipeline.ts";
import { processConsole } from "../../drivers/transports.ts";
import { InfrastructureError, JobError } from "../../job/errors.ts";
import { isMapping } from "../../../actors/definitions/schema.ts";
import {
  isSshHost,
  refusedGuestTarget,
  sshCommonArguments,
  type SshResource,
  sshResource,
} from "../../resources/ssh.ts";
import type { ActionImplementation, Block, JobContext } from "../context.ts";
import type { Strategy } from "../strategy.ts";
import { useConnection } from "./connection.ts";
import { AUTO_LOGIN_SHAPE, exitStatusOf, EXPECT_SHELL_SHAPE, EXPORT_ENV_SHAPE, SESSION_ACTIONS } from "./session.ts";

/**
 * The machine to log into: for a MultiNode guest (a secondary connection, the boot's `parameters: {hostID,
 * host_key}`), the address its host role sent in message hostID (kept by the deploy's lava-wait); else the device's
 * own host (a primary connection). What another job sent is checked as the device's own host is.
 */
function targetHost(ctx: JobContext, block: Block, ssh: SshResource): string {
  const parameters = isMapping(block.parameters) ? block.parameters : {};
  if (parameters.hostID !== undefined) {
    const hostID = String(parameters.hostID);
    const data = ctx.multinodeData.get(hostID);
    if (!data) throw new JobError(`Unable to retrieve ${hostID} - missing ssh deploy?`);
    const key = String(parameters.host_key);
    const host = Object.hasOwn(data, key) ? data[key] : undefined;
    if (host === undefined) throw new JobError(`the ${hostID} message has no ${key}`);
    if (!isSshHost(host)) throw new JobError(`the host role sent ${JSON.stringify(host)}, which is not a host name`);
    const refused = refusedGuestTarget(host, [ssh.host || undefined, ctx.resources.target.ip]);
    if (refused) throw new JobError(`the host role sent ${host} to log into, which is ${refused}`);
    return host;
  }
  if (!ssh.host) throw new JobError("Unable to retrieve ssh_host address for primary connection.");
  return ssh.host;
}

/** Where the overlay tarball goes on the machine: beside its results directory, as LAVA puts it. */
function remoteOverlay(ctx: JobContext, archive: string): string {
  return `${ctx.deviceRoot}-${basename(archive)}`;
}

/** The deploy `os` values whose systems have GNU tar (LAVA's deployment data giving them tar_flags). */
const GNU_TAR_SYSTEMS = new Set(["apertis", "archlinux", "centos", "debian", "fedora", "qnx", "slackware", "ubuntu"]);

/** The job's own known-hosts file: empty at first, in the job's directory. */
const knownHosts = (ctx: JobContext) => join(ctx.workDir, "ssh_known_hosts");

/** scp's destination: an IPv6 address in brackets, as scp reads it. */
const scpHost = (host: string) => host.includes(":") ? `[${host}]` : host;

const scpDeploy: ActionImplementation = async ({ ctx, block, signal }) => {
  const archive = ctx.scpOverlay;
  if (!archive) throw new JobError("scp-deploy: could not find details of 'overlay' (no ssh deploy before this boot)");
  const ssh = sshResource(ctx.device);
  const host = targetHost(ctx, block, ssh);
  const argv = [
    ...sshCommonArguments(ssh, knownHosts(ctx)),
    ...["-P", String(ssh.port)],
    archive,
    `${ssh.user}@${scpHost(host)}:${remoteOverlay(ctx, archive)}`,
  ];
  ctx.log.info(`Copying overlay using scp ${argv.join(" ")}`);
  // The action's own time bounds it: its signal ends scp, and its timeout is the lab's error (execute.ts).
  const output = await new Deno.Command("scp", {
    args: argv,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
    signal,
  }).output().catch((error: Error) => {
    throw new InfrastructureError(`Unable to copy overlay: scp could not run: ${error.message}`);
  });
  if (!output.success) {
    const why = new TextDecoder().decode(output.stderr).trim().slice(-400);
    throw new InfrastructureError(`Unable to copy overlay to ${host}: scp exited ${output.code}: ${why}`);
  }
};

const sshConnection: ActionImplementation = async ({ ctx, block }) => {
  const ssh = sshResource(ctx.device);
  const host = targetHost(ctx, block, ssh);
  // -tt: a terminal on the machine (its shell prompts and echoes as on a console) though ours is a pipe.
  const argv = [
    "ssh",
    ...sshCommonArguments(ssh, knownHosts(ctx)),
    "-p",
    String(ssh.port),
    "-tt",
    `${ssh.user}@${host}`,
  ];
  await ctx.console?.close();
  ctx.log.info(`ssh-connection Connecting to device ${ssh.user}@${host} using '${argv.join(" ")}'`);
  let process;
  try {
    process = processConsole(argv);
  } catch (error) {
    throw new InfrastructureError(`cannot connect to the device with ssh: ${(error as Error).message}`);
  }
  useConnection(ctx, { transport: process, stderrLines: process.stderrLines });
};

const scpOverlayUnpack: ActionImplementation = async (run) => {
  const { ctx } = run;
  if (!ctx.scpOverlay) throw new JobError("scp-overlay-unpack: no overlay was copied");
  const remote = remoteOverlay(ctx, ctx.scpOverlay);
  // As LAVA (its deployment data's tar_flags): GNU tar's timestamp warning silenced where the system has GNU tar;
  // BusyBox's (oe, lede, android) knows no such option.
  const flags = GNU_TAR_SYSTEMS.has(ctx.deployOs() ?? "") ? "--warning no-timestamp " : "";
  const status = await exitStatusOf(run, `tar ${flags}-C / -xzf ${remote}`, "scp-overlay-unpack");
  if (status !== 0) throw new JobError(`scp-overlay-unpack: unpacking ${remote} on the device exited ${status}`);
  ctx.overlayOnDevice = true;
};

/** LAVA 2023.01's login-ssh (its pipeline_refs/ssh-deploy.yaml). */
export const sshBoot: Strategy = {
  section: "boot",
  methods: ["ssh"],
  shape: () =>
    shape("login-ssh", "connect over ssh and ensure a shell is found", "login over ssh", {
      retry: true,
      pipeline: [
        shape("scp-deploy", "copy a file to a known device using scp", "scp over the ssh connection"),
        shape(
          "prepare-ssh",
          "determine which address to use for primary or secondary connections",
          "set the host address of the ssh connection",
        ),
        shape("ssh-connection", "login to a known device using ssh", "make an ssh connection to a device"),
        AUTO_LOGIN_SHAPE,
        EXPECT_SHELL_SHAPE,
        EXPORT_ENV_SHAPE,
        shape(
          "scp-overlay-unpack",
          "unpack the overlay over an existing ssh connection",
          "unpack the overlay on the remote device",
        ),
      ],
    }),
  actions: () => ({
    ...SESSION_ACTIONS,
    "scp-deploy": scpDeploy,
    "prepare-ssh": ({ ctx, block }) => {
      const secondary = isMapping(block.parameters) && block.parameters.hostID !== undefined;
      const host = targetHost(ctx, block, sshResource(ctx.device));
      ctx.log.info(`Using ${secondary ? "the host role's address" : "device data host_address"}: ${host}`);
      return Promise.resolve();
    },
    "ssh-connection": sshConnection,
    // Nothing boots: no kernel to wait for, only the login.
    "auto-login-action": (run) => run.children(),
    "scp-overlay-unpack": scpOverlayUnpack,
  }),
};
