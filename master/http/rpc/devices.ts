/** LAVA's `scheduler.devices.*` (with a device's tags) and `scheduler.tags.*` methods. */
import { DeviceHealth } from "../../../actors/domain/states.ts";
import type { DeviceHealthName } from "../../../actors/machines/device.ts";
import { loadYaml } from "../../../actors/definitions/yaml.ts";
import { isMapping } from "../../../actors/definitions/schema.ts";
import { addLabDevice, changeLabDeviceTag, setDictionary, updateLabDevice } from "../../lab/admin/devices.ts";
import { addLabTag, deleteLabTag } from "../../lab/admin/tags.ts";
import { AlreadyExistsError, NotFoundError } from "../../storage/errors.ts";
import { showTag } from "../../storage/tags.ts";
import { accessFor, deviceDictionary, listDevices, listTags, showDevice } from "../../views/mod.ts";
import type { XmlRpcInput } from "../xmlrpc.ts";
import { access, codeOf, loggedIn, type Method, optionalText, RpcFault, text, visibleDevice } from "./context.ts";

export const DEVICE_METHODS: Record<string, Method> = {
  "scheduler.devices.list": {
    help: "devices (all: include retired ones)",
    run: async (ctx, [all]) => await listDevices(ctx.lab, all === true, await access(ctx)) as unknown as XmlRpcInput,
  },
  "scheduler.devices.show": {
    help: "a device's details",
    run: async (ctx, [hostname]) => {
      const device = await showDevice(ctx.lab, text(hostname, "hostname"), await access(ctx));
      // lavacli 1.2's `system export` still reads `public`, `user` and `group` (LAVA 2023.01 no longer sends them).
      const anonymous = await accessFor(ctx.lab, undefined);
      return {
        ...device,
        public: anonymous.rules.canViewDevice(anonymous.rights, device.hostname),
        user: device.physical_owner,
        group: device.physical_group,
      } as unknown as XmlRpcInput;
    },
  },
  "scheduler.devices.add": {
    help: "add a device: (hostname, device_type, worker, user, group, public, health, description)",
    run: async (ctx, [hostname, type, worker, _user, _group, _public, health, description]) => {
      await addLabDevice(ctx.lab, loggedIn(ctx), {
        hostname: text(hostname, "hostname"),
        deviceType: text(type, "device_type"),
        worker: text(worker, "worker"),
        health: optionalText(health),
        description: optionalText(description),
      });
      return null;
    },
  },
  "scheduler.devices.update": {
    help: "change a device: (hostname, worker, user, group, public, health, description, device_type); " +
      "only what is not nil changes",
    run: async (ctx, [hostname, worker, _user, _group, _public, health, description, deviceType]) => {
      const code = codeOf(DeviceHealth, health);
      await updateLabDevice(ctx.lab, loggedIn(ctx), text(hostname, "hostname"), {
        worker: optionalText(worker),
        description: description === null || description === undefined ? undefined : text(description, "description"),
        deviceType: optionalText(deviceType),
        health: code === undefined ? undefined : DeviceHealth.name(code) as DeviceHealthName,
        reason: code === undefined ? undefined : "set through the XML-RPC API",
      });
      return null;
    },
  },
  "scheduler.devices.get_dictionary": {
    help: "a device's dictionary, or (render=true) its configuration rendered with a job context",
    run: async (ctx, [hostname, render, context]) => {
      const host = await visibleDevice(ctx, hostname);
      const info = ctx.lab.catalog.devices.get(host);
      if (!info) throw new RpcFault(404, `Device '${host}' was not found.`);
      const dictionary = deviceDictionary(ctx.lab, host);
      if (dictionary === undefined) throw new RpcFault(404, `Device '${host}' does not have a configuration`);
      if (render !== true) return dictionary;
      const jobContext = typeof context === "string" && context.trim() ? parseContext(context) : {};
      try {
        return ctx.lab.labDir.render(info, jobContext);
      } catch (error) {
        throw new RpcFault(400, (error as Error).message);
      }
    },
  },
  "scheduler.devices.set_dictionary": {
    help: "store a device's dictionary",
    run: async (ctx, [hostname, dictionary]) => {
      await setDictionary(ctx.lab, loggedIn(ctx), text(hostname, "hostname"), text(dictionary, "dictionary"));
      return true;
    },
  },
  "scheduler.devices.tags.list": {
    help: "a device's tags",
    run: async (ctx, [hostname]) => (await showDevice(ctx.lab, text(hostname, "hostname"), await access(ctx))).tags,
  },
  "scheduler.devices.tags.add": {
    help: "give a device a tag (made if new): (hostname, name)",
    run: async (ctx, [hostname, name]) => {
      const host = await visibleDevice(ctx, hostname);
      await changeLabDeviceTag(ctx.lab, loggedIn(ctx), host, text(name, "name"), "add");
      return null;
    },
  },
  "scheduler.devices.tags.delete": {
    help: "take a tag from a device: (hostname, name)",
    run: async (ctx, [hostname, name]) => {
      const host = await visibleDevice(ctx, hostname);
      await changeLabDeviceTag(ctx.lab, loggedIn(ctx), host, text(name, "name"), "remove");
      return null;
    },
  },

  "scheduler.tags.list": { help: "tags", run: async (ctx) => await listTags(ctx.lab) },
  "scheduler.tags.show": {
    help: "a tag with the devices that have it",
    run: async (ctx, [name]) => {
      const tag = await showTag(ctx.lab.db, text(name, "name")).catch((error) => {
        throw error instanceof NotFoundError ? new RpcFault(404, `Tag '${name}' was not found.`) : error;
      });
      const seen = await access(ctx);
      return { ...tag, devices: tag.devices.filter((d) => seen.rules.canViewDevice(seen.rights, d)) };
    },
  },
  "scheduler.tags.add": {
    help: "add a tag: (name, description)",
    run: async (ctx, [name, description]) => {
      await addLabTag(ctx.lab, loggedIn(ctx), text(name, "name"), optionalText(description) ?? "").catch((error) => {
        throw error instanceof AlreadyExistsError ? new RpcFault(400, "Bad request: tag already exists?") : error;
      });
      return null;
    },
  },
  "scheduler.tags.delete": {
    help: "remove a tag from the lab and from every device",
    run: async (ctx, [name]) => {
      const tag = text(name, "name");
      await deleteLabTag(ctx.lab, loggedIn(ctx), tag).catch((error) => {
        throw error instanceof NotFoundError ? new RpcFault(404, `Tag '${tag}' was not found.`) : error;
      });
      return null;
    },
  },
};

/** A job context given as YAML (or JSON, which is YAML). */
function parseContext(text: string): Record<string, unknown> {
  const loaded = loadYaml(text);
  if (loaded.errors.length > 0 || !isMapping(loaded.value)) throw new RpcFault(400, "the context must be a mapping");
  return loaded.value as Record<string, unknown>;
}
