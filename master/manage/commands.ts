/**
 * The offline admin commands of `deno task manage`, named after
 * `lava-server manage`. Each works directly on the database given by
 * `--data-dir` or `--db`, so they also work while no master runs.
 */
import type { Kysely } from "kysely";
import { DeviceHealth, DeviceState, WorkerHealth, WorkerState } from "../../actors/domain/states.ts";
import type { Database } from "../storage/schema.ts";
import { addDeviceType, listDeviceTypeAliases, listDeviceTypes } from "../storage/device_types.ts";
import { addDevice, listDevices } from "../storage/devices.ts";
import { addUser, generateToken, hashToken, issueToken, listTokens, listUsers } from "../storage/users.ts";
import { addWorker, listWorkers, setLavaTokenHash } from "../storage/workers.ts";
import {
  addGroup,
  addGroupMembers,
  DEVICE_PERMISSIONS,
  type DevicePermission,
  grantDevice,
  listGroups,
  setDevicePublic,
} from "../storage/groups.ts";
import { textTable } from "../../actors/cli/text_table.ts";
import {
  commaListOption,
  type Command,
  stringOption,
  UsageError,
  wholeNumberOption,
} from "../../actors/cli/command_line.ts";
import { generateKeyPair, writeCertificates } from "../../actors/transport/zmq/curve.ts";
import { ADMIN_COMMANDS } from "./admin_commands.ts";

/** What a manage command works on: the database, unless it needs none (keys). */
export interface ManageContext {
  readonly db: Kysely<Database>;
}

export type ManageCommand = Command<ManageContext> & {
  /** False for commands that do not touch the database. */
  readonly storage?: boolean;
};

const text = stringOption;

export const COMMANDS: readonly ManageCommand[] = [
  {
    path: ["keys", "create"],
    summary: "make a CurveZMQ key pair NAME.key (public) and NAME.key_secret for --encrypt",
    positionals: ["NAME"],
    storage: false,
    options: {
      directory: { type: "string", help: "where to write them (default ./data/certificates.d)" },
    },
    async run({ values, positionals, print }) {
      const directory = text(values, "directory") ?? "./data/certificates.d";
      const written = await writeCertificates(directory, positionals[0], generateKeyPair());
      print(`wrote ${written.publicPath} (give this to the peers) and ${written.secretPath} (keep it private)`);
    },
  },
  {
    path: ["users", "add"],
    summary: "add a user",
    positionals: ["NAME"],
    options: {
      superuser: { type: "boolean", help: "give the user every permission" },
      email: { type: "string", help: "e-mail address for notifications" },
    },
    async run({ context: { db }, values, positionals, print }) {
      const user = await addUser(db, {
        username: positionals[0],
        superuser: values.superuser === true,
        email: text(values, "email"),
      });
      print(`added user ${user.username}${user.is_superuser ? " (superuser)" : ""}`);
    },
  },
  {
    path: ["users", "list"],
    summary: "list users",
    positionals: [],
    options: {},
    async run({ context: { db }, print }) {
      const users = await listUsers(db);
      print(
        textTable(
          ["username", "superuser", "active", "email"],
          users.map((u) => [u.username, u.is_superuser, u.is_active, u.email]),
        ),
      );
    },
  },
  {
    path: ["tokens", "add"],
    summary: "make an API token for a user and print it (it is shown only this once)",
    positionals: [],
    options: {
      user: { type: "string", required: true, help: "the user who owns the token" },
      description: { type: "string", help: "what the token is for" },
    },
    async run({ context: { db }, values, print }) {
      const issued = await issueToken(db, text(values, "user")!, text(values, "description") ?? "");
      print(issued.token);
    },
  },
  {
    path: ["tokens", "list"],
    summary: "list a user's tokens (their ids and descriptions; the secrets are not stored)",
    positionals: [],
    options: { user: { type: "string", required: true, help: "the user who owns the tokens" } },
    async run({ context: { db }, values, print }) {
      const tokens = await listTokens(db, text(values, "user")!);
      print(
        textTable(
          ["id", "description", "created", "last used"],
          tokens.map((t) => [t.id, t.description, t.created_at, t.last_used_at]),
        ),
      );
    },
  },
  {
    path: ["workers", "add"],
    summary: "add a worker host",
    positionals: ["NAME"],
    options: {
      description: { type: "string", help: "free text shown in the web UI" },
      "job-limit": { type: "string", help: "most jobs at once on this worker (0: no limit)" },
      "lava-token": {
        type: "boolean",
        help: "a LAVA worker (lava-worker over HTTP): make its token and print it (shown only this once)",
      },
      "lava-token-file": {
        type: "string",
        help: "a LAVA worker keeping the token it has (e.g. a copy of /var/lib/lava/dispatcher/worker/token)",
      },
    },
    async run({ context: { db }, values, positionals, print }) {
      const lava = await lavaTokenOption(values);
      const worker = await addWorker(db, {
        hostname: positionals[0],
        description: text(values, "description"),
        jobLimit: wholeNumberOption(values, "job-limit"),
        ...(lava ? { lavaTokenHash: await hashToken(lava.token) } : {}),
      });
      print(`added worker ${worker.hostname}`);
      if (lava?.generated) print(lava.token);
    },
  },
  {
    path: ["workers", "lava-token"],
    summary: "make a worker a LAVA worker (lava-worker over HTTP) with a new token, printed, or the one in --file",
    positionals: ["NAME"],
    options: {
      file: { type: "string", help: "the token the LAVA worker has already (its first line)" },
      remove: { type: "boolean", help: "take the token away: the worker joins through Basalt's mailbox again" },
    },
    async run({ context: { db }, values, positionals, print }) {
      if (values.remove === true) {
        await setLavaTokenHash(db, positionals[0], null);
        return print(`worker ${positionals[0]} has no LAVA token now`);
      }
      const lava = await lavaTokenOption({ "lava-token": values.file === undefined, "lava-token-file": values.file });
      await setLavaTokenHash(db, positionals[0], await hashToken(lava!.token));
      print(`worker ${positionals[0]} is a LAVA worker (a running master reads the token at the worker's next ping)`);
      if (lava!.generated) print(lava!.token);
    },
  },
  {
    path: ["workers", "list"],
    summary: "list workers",
    positionals: [],
    options: {},
    async run({ context: { db }, print }) {
      const workers = await listWorkers(db);
      print(textTable(
        ["hostname", "state", "health", "job limit", "last ping", "description", "joins through"],
        workers.map((
          w,
        ) => [
          w.hostname,
          WorkerState.name(w.state),
          WorkerHealth.name(w.health),
          w.job_limit,
          w.last_ping,
          w.description,
          w.lava_token_hash ? "LAVA's HTTP API" : "mailbox",
        ]),
      ));
    },
  },
  {
    path: ["device-types", "add"],
    summary: "add a device type",
    positionals: ["NAME"],
    options: { description: { type: "string", help: "free text shown in the web UI" } },
    async run({ context: { db }, values, positionals, print }) {
      const type = await addDeviceType(db, { name: positionals[0], description: text(values, "description") });
      print(`added device type ${type.name}`);
    },
  },
  {
    path: ["device-types", "list"],
    summary: "list device types",
    positionals: [],
    options: {},
    async run({ context: { db }, print }) {
      const [types, devices] = await Promise.all([listDeviceTypes(db), listDevices(db)]);
      const rows = [];
      for (const t of types) {
        const count = devices.filter((d) => d.device_type === t.name).length;
        rows.push([t.name, count, await listDeviceTypeAliases(db, t.name), t.description]);
      }
      print(textTable(["name", "devices", "aliases", "description"], rows));
    },
  },
  {
    path: ["devices", "add"],
    summary: "add a device (it starts in Maintenance, as in LAVA)",
    positionals: ["NAME"],
    options: {
      "device-type": { type: "string", required: true, help: "its device type (or an alias)" },
      worker: { type: "string", required: true, help: "the worker it is attached to" },
      tags: { type: "string", help: "comma-separated tags jobs can ask for" },
      description: { type: "string", help: "free text shown in the web UI" },
    },
    async run({ context: { db }, values, positionals, print }) {
      const tags = commaListOption(values, "tags");
      const device = await addDevice(db, {
        hostname: positionals[0],
        deviceType: text(values, "device-type")!,
        worker: text(values, "worker")!,
        description: text(values, "description"),
        tags,
      });
      print(
        `added device ${device.hostname} (${device.device_type} on ${device.worker_hostname}, health ${
          DeviceHealth.name(device.health)
        })`,
      );
    },
  },
  {
    path: ["devices", "permit"],
    summary: "let a group view, submit to or change a device (a private device is seen only by such groups)",
    positionals: ["NAME"],
    options: {
      group: { type: "string", required: true, help: "the group" },
      permission: { type: "string", required: true, help: "view, submit or change" },
    },
    async run({ context: { db }, values, positionals, print }) {
      const permission = text(values, "permission")!;
      if (!DEVICE_PERMISSIONS.includes(permission as DevicePermission)) {
        throw new UsageError(`--permission must be one of ${DEVICE_PERMISSIONS.join(", ")}, got ${permission}`);
      }
      await grantDevice(db, positionals[0], text(values, "group")!, permission as DevicePermission);
      print(`group ${text(values, "group")} may ${permission} device ${positionals[0]}`);
    },
  },
  {
    path: ["devices", "visibility"],
    summary: "show a device to everyone (--public) or only to superusers and permitted groups (--private)",
    positionals: ["NAME"],
    options: {
      public: { type: "boolean", help: "everyone sees the device and its jobs' traces" },
      private: { type: "boolean", help: "only superusers and groups permitted on it" },
    },
    async run({ context: { db }, values, positionals, print }) {
      if ((values.public === true) === (values.private === true)) throw new UsageError("give --public or --private");
      await setDevicePublic(db, positionals[0], values.public === true);
      print(`device ${positionals[0]} is ${values.public === true ? "public" : "private"}`);
    },
  },
  {
    path: ["groups", "add"],
    summary: "add a group of users (for group-visible jobs and device permissions)",
    positionals: ["NAME"],
    options: { users: { type: "string", help: "comma-separated user names to put in it" } },
    async run({ context: { db }, values, positionals, print }) {
      const users = commaListOption(values, "users");
      await addGroup(db, positionals[0], users);
      print(`added group ${positionals[0]}${users.length ? ` with ${users.join(", ")}` : ""}`);
    },
  },
  {
    path: ["groups", "add-users"],
    summary: "put users into a group",
    positionals: ["NAME"],
    options: { users: { type: "string", required: true, help: "comma-separated user names" } },
    async run({ context: { db }, values, positionals, print }) {
      const users = commaListOption(values, "users");
      await addGroupMembers(db, positionals[0], users);
      print(`group ${positionals[0]} now holds ${users.join(", ")}`);
    },
  },
  {
    path: ["groups", "list"],
    summary: "list groups and their members",
    positionals: [],
    options: {},
    async run({ context: { db }, print }) {
      print(textTable(["name", "members"], (await listGroups(db)).map((g) => [g.name, g.members.join(",")])));
    },
  },
  {
    path: ["devices", "list"],
    summary: "list devices",
    positionals: [],
    options: {},
    async run({ context: { db }, print }) {
      const devices = await listDevices(db);
      print(textTable(
        ["hostname", "type", "worker", "state", "health", "tags"],
        devices.map((
          d,
        ) => [
          d.hostname,
          d.device_type,
          d.worker_hostname,
          DeviceState.name(d.state),
          DeviceHealth.name(d.health),
          d.tags,
        ]),
      ));
    },
  },
  ...ADMIN_COMMANDS,
];

/** A LAVA worker's token from `--lava-token` (a new one) or `--lava-token-file` (the one it has); none for neither. */
async function lavaTokenOption(
  values: Record<string, unknown>,
): Promise<{ token: string; generated: boolean } | undefined> {
  const file = typeof values["lava-token-file"] === "string" ? values["lava-token-file"] : undefined;
  if (file !== undefined) {
    if (values["lava-token"] === true) throw new UsageError("give --lava-token or --lava-token-file, not both");
    let token: string;
    try {
      token = (await Deno.readTextFile(file)).split("\n")[0].trim();
    } catch (error) {
      throw new UsageError(`cannot read the token file ${file}: ${error instanceof Error ? error.message : error}`);
    }
    // LAVA's worker sends it in an HTTP header: printable ASCII only.
    if (!/^[\x21-\x7e]{16,256}$/.test(token)) {
      throw new UsageError(`${file}: the token must be 16 to 256 printable characters without spaces`);
    }
    return { token, generated: false };
  }
  return values["lava-token"] === true ? { token: generateToken(32), generated: true } : undefined;
}
