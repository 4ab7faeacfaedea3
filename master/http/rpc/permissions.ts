/**
 * LAVA's `system.*` methods about who may do what: the questions (`user_can_view_jobs`,
 * `user_can_view_devices`, `user_can_submit_to_types`, for oneself or, for an
 * administrator, on behalf of another user) and the changes (`set_user_groups`,
 * `assign_perm_*`, `revoke_perm_*`).
 */
import { changeLabPermission, permissionOf, setLabUserGroups } from "../../lab/admin/people.ts";
import { loadJobFacts, type Rights } from "../../lab/visibility.ts";
import { NotFoundError } from "../../storage/errors.ts";
import type { PermissionTarget } from "../../storage/groups.ts";
import { findUser } from "../../storage/users.ts";
import type { XmlRpcValue } from "../xmlrpc.ts";
import { loggedIn, type Method, type RpcContext, RpcFault, text } from "./context.ts";

/** The rights of the caller, or of `username` when an administrator asks on their behalf (LAVA's `_switch_user`). */
async function rightsFor(ctx: RpcContext, username: XmlRpcValue | undefined): Promise<Rights> {
  const caller = loggedIn(ctx);
  if (username === null || username === undefined || username === "") return ctx.lab.access.rightsOf(caller);
  if (!caller.is_superuser) {
    throw new RpcFault(401, `Permission denied for user '${caller.username}' to query other users`);
  }
  const user = await findUser(ctx.lab.db, text(username, "username"));
  if (!user) throw new RpcFault(404, `Username ${username} not found`);
  // An inactive user may do nothing a login allows: they are asked about as nobody.
  return ctx.lab.access.rightsOf(user.is_active ? user : undefined);
}

function list(value: XmlRpcValue | undefined, what: string): XmlRpcValue[] {
  if (!Array.isArray(value)) throw new RpcFault(400, `${what} list argument must be a list`);
  return value;
}

/** `assign_perm_device_type` and friends: the arguments (perm, name, group) checked as LAVA does. */
function permissionChange(kind: "device" | "deviceType", change: "grant" | "revoke"): Method {
  const noun = kind === "device" ? "device" : "device type";
  return {
    help: `${change === "grant" ? "grant" : "revoke"} a group's permission on a ${noun}: (perm, ${noun}, group)`,
    run: async (ctx, [perm, name, group]) => {
      const by = loggedIn(ctx);
      if (typeof name !== "string") {
        throw new RpcFault(400, `${kind === "device" ? "device" : "device_type"} name must be a string`);
      }
      const target: PermissionTarget = kind === "device" ? { device: name } : { deviceType: name };
      const exists = kind === "device" ? ctx.lab.catalog.devices.has(name) : ctx.lab.catalog.deviceTypes.has(name);
      if (!exists) throw new RpcFault(400, `please use existing ${noun} name`);
      try {
        await changeLabPermission(
          ctx.lab,
          by,
          target,
          text(group, "group"),
          permissionOf(text(perm, "perm"), target),
          change,
        );
      } catch (error) {
        if (error instanceof NotFoundError) throw new RpcFault(400, "please use existing group name");
        throw error;
      }
      return null;
    },
  };
}

export const PERMISSION_METHODS: Record<string, Method> = {
  "system.user_can_view_jobs": {
    help: "which of these jobs the caller (or, for an administrator, the user named) may see: (job_list, username)",
    run: async (ctx, [jobs, username]) => {
      const rights = await rightsFor(ctx, username);
      const ids = list(jobs, "job").map(Number).filter((id) => Number.isInteger(id) && id > 0 && id < 2 ** 31);
      const facts = await loadJobFacts(ctx.lab.db, ids);
      const answer: Record<string, boolean> = {};
      for (const id of ids) {
        const job = facts.get(id);
        if (job) answer[String(id)] = ctx.lab.access.canViewJob(rights, job);
      }
      return answer;
    },
  },
  "system.user_can_view_devices": {
    help: "which of these devices the caller (or the user named) may see, by device type: (device_list, username)",
    run: async (ctx, [devices, username]) => {
      const rights = await rightsFor(ctx, username);
      const answer: Record<string, Record<string, Record<string, boolean>>[]> = {};
      for (const hostname of list(devices, "device").map(String)) {
        const info = ctx.lab.catalog.devices.get(hostname);
        if (!info) continue;
        const visible = ctx.lab.access.canViewDevice(rights, hostname);
        (answer[info.deviceType] ??= []).push({
          [hostname]: visible ? { is_pipeline: true, visible, exclusive: true } : { visible },
        });
      }
      return answer;
    },
  },
  "system.user_can_submit_to_types": {
    help: "which of these device types the caller (or the user named) may submit to: (type_list, username)",
    run: async (ctx, [types, username]) => {
      const rights = await rightsFor(ctx, username);
      const answer: Record<string, boolean> = {};
      for (const name of list(types, "type").map(String)) {
        if (ctx.lab.catalog.deviceTypes.has(name)) answer[name] = ctx.lab.access.canSubmitToDeviceType(rights, name);
      }
      return answer;
    },
  },
  "system.set_user_groups": {
    help: "put a user (by e-mail, or name) in exactly these groups; names that are not groups are skipped",
    run: async (ctx, [user, groups]) => {
      if (!Array.isArray(groups)) throw new RpcFault(400, "groups must be a list");
      await setLabUserGroups(ctx.lab, loggedIn(ctx), text(user, "user"), groups.map((g) => text(g, "group")));
      return null;
    },
  },
  "system.assign_perm_device_type": permissionChange("deviceType", "grant"),
  "system.revoke_perm_device_type": permissionChange("deviceType", "revoke"),
  "system.assign_perm_device": permissionChange("device", "grant"),
  "system.revoke_perm_device": permissionChange("device", "revoke"),
};
