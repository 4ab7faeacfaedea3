/**
 * `deno task manage` commands for running a shared lab, after
 * `lava-server manage`: users, groups and permissions, device types and their
 * aliases, tags, devices and their dictionaries, workers, old jobs, and a
 * health summary. They work on the database directly (with the master stopped
 * when it is the embedded one, whose directory the master locks); a running
 * master reads what they changed when it next starts. Each change is kept in
 * the admin record as made by `manage`.
 */
import { join, resolve } from "../../actors/path.ts";
import {
  commaListOption,
  type Command,
  stringOption,
  UsageError,
  wholeNumberOption,
} from "../../actors/cli/command_line.ts";
import { DeviceHealth, JobHealth, WorkerHealth } from "../../actors/domain/states.ts";
import { textTable } from "../../actors/cli/text_table.ts";
import { dictionaryProblems } from "../devices/dictionary.ts";
import { recordChange } from "../storage/admin_changes.ts";
import {
  addDeviceTypeAlias,
  deleteDeviceTypeAlias,
  type DeviceTypeChange,
  listAliases,
  updateDeviceType,
} from "../storage/device_types.ts";
import { changeDeviceTag, updateDevice } from "../storage/devices.ts";
import { InvalidValueError } from "../storage/errors.ts";
import {
  deleteGroup,
  DEVICE_PERMISSIONS,
  type DevicePermission,
  grant,
  grantsOn,
  type PermissionTarget,
  removeGroupMembers,
  revoke,
} from "../storage/groups.ts";
import { purgeable, purgeJobs } from "../storage/retention.ts";
import { addTag, deleteTag } from "../storage/tags.ts";
import { setPassword, updateUser } from "../storage/users.ts";
import { removeWorker, updateWorker } from "../storage/workers.ts";
import type { ManageContext } from "./commands.ts";

type ManageCommand = Command<ManageContext>;
const text = stringOption;
const BY = "manage";

/** `--flag` / `--no-flag` as true, false or absent. */
function flag(values: Parameters<typeof stringOption>[0], name: string): boolean | undefined {
  const yes = values[name] === true, no = values[`no-${name}`] === true;
  if (yes && no) throw new UsageError(`give --${name} or --no-${name}, not both`);
  return yes ? true : no ? false : undefined;
}

function healthOf(codes: typeof DeviceHealth | typeof WorkerHealth, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  try {
    return codes.parse(value);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

function targetOf(values: Parameters<typeof stringOption>[0]): PermissionTarget {
  const device = text(values, "device"), deviceType = text(values, "device-type");
  if ((device === undefined) === (deviceType === undefined)) throw new UsageError("give --device or --device-type");
  return device !== undefined ? { device } : { deviceType: deviceType! };
}

function permissionOf(value: string | undefined): DevicePermission {
  if (!DEVICE_PERMISSIONS.includes(value as DevicePermission)) {
    throw new UsageError(`--permission must be one of ${DEVICE_PERMISSIONS.join(", ")}, got ${value}`);
  }
  return value as DevicePermission;
}

const TARGET_OPTIONS = {
  device: { type: "string", help: "a device's host name" },
  "device-type": { type: "string", help: "a device type's name" },
} as const;

export const ADMIN_COMMANDS: readonly ManageCommand[] = [
  {
    path: ["users", "update"],
    summary: "activate or deactivate a user (a deactivated user's tokens and sessions stop at once), or change them",
    positionals: ["NAME"],
    options: {
      active: { type: "boolean", help: "may log in and use tokens" },
      "no-active": { type: "boolean", help: "deactivated: nothing of theirs works until activated again" },
      superuser: { type: "boolean", help: "an administrator" },
      "no-superuser": { type: "boolean", help: "not an administrator" },
      email: { type: "string", help: "e-mail address (LAVA's system.set_user_groups finds users by it)" },
    },
    async run({ context: { db }, values, positionals, print }) {
      const change = {
        active: flag(values, "active"),
        superuser: flag(values, "superuser"),
        email: text(values, "email"),
      };
      await updateUser(db, positionals[0], change);
      await recordChange(db, BY, { kind: "user", name: positionals[0] }, JSON.stringify(change));
      print(`user ${positionals[0]} updated`);
    },
  },
  {
    path: ["users", "password"],
    summary: "set the password a user logs in to the web UI with, read from standard input (--remove: none)",
    positionals: ["NAME"],
    options: { remove: { type: "boolean", help: "remove it: the user logs in with a token only" } },
    async run({ context: { db }, values, positionals, print }) {
      const password = values.remove === true
        ? null
        : (await new Response(Deno.stdin.readable).text()).replace(/\r?\n$/, "");
      await setPassword(db, positionals[0], password);
      await recordChange(
        db,
        BY,
        { kind: "user", name: positionals[0] },
        password === null ? "password removed" : "password set",
      );
      print(`user ${positionals[0]}: password ${password === null ? "removed" : "set"}`);
    },
  },
  {
    path: ["groups", "remove-users"],
    summary: "take users out of a group",
    positionals: ["NAME"],
    options: { users: { type: "string", required: true, help: "comma-separated user names" } },
    async run({ context: { db }, values, positionals, print }) {
      const users = commaListOption(values, "users");
      await removeGroupMembers(db, positionals[0], users);
      await recordChange(db, BY, { kind: "group", name: positionals[0] }, `removed ${users.join(", ")}`);
      print(`group ${positionals[0]} no longer holds ${users.join(", ")}`);
    },
  },
  {
    path: ["groups", "delete"],
    summary: "delete a group with its memberships and permissions (refused while a job is shared with it)",
    positionals: ["NAME"],
    options: {},
    async run({ context: { db }, positionals, print }) {
      await deleteGroup(db, positionals[0]);
      await recordChange(db, BY, { kind: "group", name: positionals[0] }, "removed");
      print(`group ${positionals[0]} deleted`);
    },
  },
  ...(["grant", "revoke"] as const).map((change): ManageCommand => ({
    path: ["permissions", change],
    summary: `${change} a group's view, submit or change permission on a device or device type`,
    positionals: [],
    options: {
      group: { type: "string", required: true, help: "the group" },
      permission: { type: "string", required: true, help: "view, submit or change (each implies those after it)" },
      ...TARGET_OPTIONS,
    },
    async run({ context: { db }, values, print }) {
      const target = targetOf(values), permission = permissionOf(text(values, "permission"));
      const group = text(values, "group")!;
      const done = change === "grant"
        ? (await grant(db, target, group, permission), true)
        : await revoke(db, target, group, permission);
      const object = "device" in target
        ? { kind: "device", name: target.device }
        : { kind: "device-type", name: target.deviceType };
      await recordChange(
        db,
        BY,
        object,
        `${permission} ${change === "grant" ? "granted to" : "revoked from"} group ${group}`,
      );
      print(
        done
          ? `${change}ed: group ${group} ${permission} on ${object.kind} ${object.name}`
          : `group ${group} did not hold it`,
      );
    },
  })),
  {
    path: ["permissions", "list"],
    summary: "the groups holding a permission on a device or device type",
    positionals: [],
    options: TARGET_OPTIONS,
    async run({ context: { db }, values, print }) {
      const grants = await grantsOn(db, targetOf(values));
      print(textTable(["group", "permission"], grants.map((g) => [g.group, g.permission])));
    },
  },
  {
    path: ["device-types", "update"],
    summary: "change a device type: description, health checks, how long its jobs are kept",
    positionals: ["NAME"],
    options: {
      description: { type: "string", help: "free text shown in the web UI" },
      "health-frequency": { type: "string", help: "a health check every N hours or jobs" },
      "health-denominator": { type: "string", help: "hours or jobs" },
      "health-check": { type: "boolean", help: "run health checks" },
      "no-health-check": { type: "boolean", help: "never run health checks on this type" },
      "retention-days": { type: "string", help: "keep its finished jobs N days, or 'default' for the master's" },
    },
    async run({ context: { db }, values, positionals, print }) {
      const denominator = text(values, "health-denominator");
      if (denominator !== undefined && denominator !== "hours" && denominator !== "jobs") {
        throw new UsageError(`--health-denominator must be hours or jobs, got ${denominator}`);
      }
      const retention = text(values, "retention-days");
      const checks = flag(values, "health-check");
      const change: DeviceTypeChange = {
        description: text(values, "description"),
        healthFrequency: wholeNumberOption(values, "health-frequency", 1),
        healthDenominator: denominator as "hours" | "jobs" | undefined,
        disableHealthCheck: checks === undefined ? undefined : !checks,
        retentionDays: retention === "default" ? null : wholeNumberOption(values, "retention-days", 1),
      };
      await updateDeviceType(db, positionals[0], change);
      await recordChange(db, BY, { kind: "device-type", name: positionals[0] }, JSON.stringify(change));
      print(`device type ${positionals[0]} updated`);
    },
  },
  {
    path: ["aliases", "add"],
    summary: "another name jobs may give as their device_type",
    positionals: ["ALIAS"],
    options: { "device-type": { type: "string", required: true, help: "the device type it names" } },
    async run({ context: { db }, values, positionals, print }) {
      await addDeviceTypeAlias(db, positionals[0], text(values, "device-type")!);
      await recordChange(
        db,
        BY,
        { kind: "device-type", name: text(values, "device-type")! },
        `alias ${positionals[0]} added`,
      );
      print(`alias ${positionals[0]} names ${text(values, "device-type")}`);
    },
  },
  {
    path: ["aliases", "delete"],
    summary: "remove an alias",
    positionals: ["ALIAS"],
    options: {},
    async run({ context: { db }, positionals, print }) {
      await deleteDeviceTypeAlias(db, positionals[0]);
      await recordChange(db, BY, { kind: "alias", name: positionals[0] }, "removed");
      print(`alias ${positionals[0]} removed`);
    },
  },
  {
    path: ["aliases", "list"],
    summary: "every alias and the device type it names",
    positionals: [],
    options: {},
    async run({ context: { db }, print }) {
      print(textTable(["alias", "device type"], (await listAliases(db)).map((a) => [a.name, a.device_type])));
    },
  },
  {
    path: ["tags", "add"],
    summary: "add a tag jobs can ask for",
    positionals: ["NAME"],
    options: { description: { type: "string", help: "what a device with it has" } },
    async run({ context: { db }, values, positionals, print }) {
      await addTag(db, positionals[0], text(values, "description") ?? "");
      await recordChange(db, BY, { kind: "tag", name: positionals[0] }, "added");
      print(`added tag ${positionals[0]}`);
    },
  },
  {
    path: ["tags", "delete"],
    summary: "remove a tag from the lab and from every device",
    positionals: ["NAME"],
    options: {},
    async run({ context: { db }, positionals, print }) {
      await deleteTag(db, positionals[0]);
      await recordChange(db, BY, { kind: "tag", name: positionals[0] }, "removed");
      print(`removed tag ${positionals[0]}`);
    },
  },
  {
    path: ["tags", "list"],
    summary: "tags, their descriptions and how many devices have each",
    positionals: [],
    options: {},
    async run({ context: { db }, print }) {
      const rows = await db.selectFrom("tags as t").leftJoin("device_tags as d", "d.tag", "t.name")
        .select(["t.name", "t.description"]).select((eb) => eb.fn.count<number>("d.device_hostname").as("devices"))
        .groupBy(["t.name", "t.description"]).orderBy("t.name").execute();
      print(textTable(["name", "devices", "description"], rows.map((r) => [r.name, Number(r.devices), r.description])));
    },
  },
  {
    path: ["devices", "update"],
    summary: "change a device: worker, type, description, health, who looks after it",
    positionals: ["NAME"],
    options: {
      worker: { type: "string", help: "the worker it is attached to" },
      "device-type": { type: "string", help: "its device type (or an alias)" },
      description: { type: "string", help: "free text shown in the web UI" },
      health: { type: "string", help: "Good, Unknown, Looping, Bad, Maintenance or Retired" },
      "physical-owner": { type: "string", help: "the person who looks after the board ('' for none)" },
      "physical-group": { type: "string", help: "the team that looks after it ('' for none)" },
    },
    async run({ context: { db }, values, positionals, print }) {
      const owner = text(values, "physical-owner"), group = text(values, "physical-group");
      const change = {
        worker: text(values, "worker"),
        deviceType: text(values, "device-type"),
        description: text(values, "description"),
        health: healthOf(DeviceHealth, text(values, "health")),
        physicalOwner: owner === undefined ? undefined : owner || null,
        physicalGroup: group === undefined ? undefined : group || null,
      };
      await updateDevice(db, positionals[0], change);
      await recordChange(db, BY, { kind: "device", name: positionals[0] }, JSON.stringify(change));
      print(`device ${positionals[0]} updated`);
    },
  },
  {
    path: ["devices", "tag"],
    summary: "give a device tags (made if new) or take them away",
    positionals: ["NAME"],
    options: {
      add: { type: "string", help: "comma-separated tags to give it" },
      remove: { type: "string", help: "comma-separated tags to take away" },
    },
    async run({ context: { db }, values, positionals, print }) {
      let tags: string[] = [];
      for (const tag of commaListOption(values, "add")) tags = await changeDeviceTag(db, positionals[0], tag, "add");
      for (const tag of commaListOption(values, "remove")) {
        tags = await changeDeviceTag(db, positionals[0], tag, "remove");
      }
      await recordChange(db, BY, { kind: "device", name: positionals[0] }, `tags now ${tags.join(", ") || "none"}`);
      print(`device ${positionals[0]} tags: ${tags.join(", ") || "none"}`);
    },
  },
  {
    path: ["devices", "export-dictionaries"],
    summary: "write every device's stored dictionary to DIR/<hostname>.jinja2",
    positionals: ["DIR"],
    options: {},
    async run({ context: { db }, positionals, print }) {
      const rows = await db.selectFrom("devices").select(["hostname", "dictionary"]).where("dictionary", "is not", null)
        .orderBy("hostname").execute();
      await Deno.mkdir(positionals[0], { recursive: true });
      for (const row of rows) await Deno.writeTextFile(join(positionals[0], `${row.hostname}.jinja2`), row.dictionary!);
      print(`wrote ${rows.length} dictionaries to ${positionals[0]}`);
    },
  },
  {
    path: ["devices", "import-dictionaries"],
    summary:
      "store DIR/<hostname>.jinja2 as each existing device's dictionary (each checked first; none stored if one is bad)",
    positionals: ["DIR"],
    options: {},
    async run({ context: { db }, positionals, print }) {
      const dir = resolve(positionals[0]);
      const devices = new Set((await db.selectFrom("devices").select("hostname").execute()).map((d) => d.hostname));
      const found: { hostname: string; text: string }[] = [];
      const problems: string[] = [];
      for await (const entry of Deno.readDir(dir)) {
        const hostname = entry.name.endsWith(".jinja2") ? entry.name.slice(0, -".jinja2".length) : undefined;
        // Symbolic links could point outside the directory: only its own regular files are read.
        if (!hostname || !entry.isFile) continue;
        if (!devices.has(hostname)) {
          problems.push(`${entry.name}: there is no device ${hostname}`);
          continue;
        }
        const text = await Deno.readTextFile(join(dir, entry.name));
        const bad = dictionaryProblems(text);
        if (bad.length > 0) problems.push(`${entry.name}: ${bad.map((p) => p.message).join("; ")}`);
        else found.push({ hostname, text });
      }
      if (problems.length > 0) throw new InvalidValueError(`nothing stored:\n${problems.sort().join("\n")}`);
      await db.transaction().execute(async (trx) => {
        for (const { hostname, text } of found) {
          await trx.updateTable("devices").set({ dictionary: text }).where("hostname", "=", hostname).execute();
        }
      });
      for (const { hostname } of found) {
        await recordChange(db, BY, { kind: "device", name: hostname }, "dictionary imported");
      }
      print(`stored ${found.length} dictionaries from ${dir}`);
    },
  },
  {
    path: ["workers", "update"],
    summary: "change a worker: description, job limit, health",
    positionals: ["NAME"],
    options: {
      description: { type: "string", help: "free text shown in the web UI" },
      "job-limit": { type: "string", help: "most jobs at once on this worker (0: no limit)" },
      health: { type: "string", help: "Active, Maintenance or Retired" },
    },
    async run({ context: { db }, values, positionals, print }) {
      const change = {
        description: text(values, "description"),
        jobLimit: wholeNumberOption(values, "job-limit"),
        health: healthOf(WorkerHealth, text(values, "health")),
      };
      await updateWorker(db, positionals[0], change);
      await recordChange(db, BY, { kind: "worker", name: positionals[0] }, JSON.stringify(change));
      print(`worker ${positionals[0]} updated`);
    },
  },
  {
    path: ["workers", "rm"],
    summary: "remove a worker (refused while a device that is not retired is attached to it)",
    positionals: ["NAME"],
    options: {},
    async run({ context: { db }, positionals, print }) {
      await removeWorker(db, positionals[0]);
      await recordChange(db, BY, { kind: "worker", name: positionals[0] }, "removed");
      print(`worker ${positionals[0]} removed`);
    },
  },
  {
    path: ["jobs", "rm"],
    summary: "remove finished jobs with their logs, results and history (a MultiNode job only with its group)",
    positionals: [],
    options: {
      ids: { type: "string", help: "comma-separated job ids" },
      "older-than": { type: "string", help: "jobs that ended more than N days ago" },
      "device-type": { type: "string", help: "jobs for this device type" },
      submitter: { type: "string", help: "jobs this user submitted" },
      "dry-run": { type: "boolean", help: "print how many would go, remove nothing" },
    },
    async run({ context: { db }, values, print }) {
      const ids = commaListOption(values, "ids").map((id) => wholeNumberOption({ ids: id }, "ids", 1)!);
      const olderThan = wholeNumberOption(values, "older-than");
      if (ids.length === 0 && olderThan === undefined) throw new UsageError("give --ids or --older-than");
      const filter = {
        ids: ids.length ? ids : undefined,
        olderThanDays: olderThan,
        deviceType: text(values, "device-type"),
        submitter: text(values, "submitter"),
      };
      let removed = 0;
      for (;;) {
        const batch = await purgeable(db, filter, values["dry-run"] === true ? 1_000_000 : 500);
        if (values["dry-run"] === true) return print(`${batch.length} jobs would be removed`);
        if (batch.length === 0) break;
        removed += await purgeJobs(db, batch);
      }
      await recordChange(db, BY, { kind: "job", name: "*" }, `removed ${removed} jobs (${JSON.stringify(filter)})`);
      print(`removed ${removed} jobs`);
    },
  },
  {
    path: ["health"],
    summary: "each device's health and last health check, and each worker's health",
    positionals: [],
    options: {},
    async run({ context: { db }, print }) {
      const devices = await db.selectFrom("devices as d").leftJoin("test_jobs as j", "j.id", "d.last_health_report_job")
        .select([
          "d.hostname",
          "d.device_type",
          "d.worker_hostname",
          "d.health",
          "d.health_reason",
          "j.id",
          "j.end_time",
          "j.health as check_health",
        ])
        .orderBy("d.hostname").execute();
      print(textTable(
        ["device", "type", "worker", "health", "last check", "result", "reason"],
        devices.map((d) => [
          d.hostname,
          d.device_type,
          d.worker_hostname,
          DeviceHealth.name(d.health),
          d.end_time ?? (d.id === null ? "never" : "running"),
          d.check_health === null ? "" : JobHealth.name(d.check_health),
          d.health_reason ?? "",
        ]),
      ));
      const workers = await db.selectFrom("workers").select(["hostname", "health", "last_ping"]).orderBy("hostname")
        .execute();
      print(
        textTable(
          ["worker", "health", "last ping"],
          workers.map((w) => [w.hostname, WorkerHealth.name(w.health), w.last_ping]),
        ),
      );
    },
  },
];
