/** LAVA's `scheduler.devices.*`, `scheduler.device_types.*` and `scheduler.tags.*` methods. */
import { DeviceHealth } from "../../../actors/domain/states.ts";
import type { DeviceHealthName } from "../../../actors/machines/device.ts";
import { loadYaml } from "../../../actors/definitions/yaml.ts";
import { isMapping } from "../../../actors/definitions/schema.ts";
import { addLabDevice, addLabDeviceType, setDictionary } from "../../lab/admin.ts";
import {
  deviceDictionary,
  listDevices,
  listDeviceTypes,
  listTags,
  showDevice,
  visibleDevices,
} from "../../views/mod.ts";
import type { XmlRpcInput } from "../xmlrpc.ts";
import {
  access,
  codeOf,
  type Method,
  optionalInt,
  optionalText,
  RpcFault,
  superuser,
  text,
  visibleDevice,
  visibleType,
} from "./context.ts";

export const DEVICE_METHODS: Record<string, Method> = {
  "scheduler.devices.list": {
    help: "devices (all: include retired ones)",
    run: async (ctx, [all]) => await listDevices(ctx.lab, all === true, await access(ctx)) as unknown as XmlRpcInput,
  },
  "scheduler.devices.show": {
    help: "a device's details",
    run: async (ctx, [hostname]) =>
      await showDevice(ctx.lab, text(hostname, "hostname"), await access(ctx)) as unknown as XmlRpcInput,
  },
  "scheduler.devices.add": {
    help: "add a device: (hostname, device_type, worker, user, group, public, health, description)",
    run: async (ctx, [hostname, type, worker, _user, _group, _public, health, description]) => {
      superuser(ctx);
      await addLabDevice(ctx.lab, {
        hostname: text(hostname, "hostname"),
        deviceType: text(type, "device_type"),
        worker: text(worker, "worker"),
        health: optionalText(health),
        description: optionalText(description),
      });
      return true;
    },
  },
  "scheduler.devices.update": {
    help: "change a device: (hostname, worker, user, group, public, health, description)",
    run: (ctx, [hostname, _worker, _user, _group, _public, health, _description]) => {
      const user = superuser(ctx);
      const host = text(hostname, "hostname");
      const code = codeOf(DeviceHealth, health);
      if (code !== undefined) {
        ctx.lab.setDeviceHealth(host, DeviceHealth.name(code) as DeviceHealthName, `set by ${user.username}`);
      }
      return true;
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
      superuser(ctx);
      await setDictionary(ctx.lab, text(hostname, "hostname"), text(dictionary, "dictionary"));
      return true;
    },
  },
  "scheduler.devices.tags.list": {
    help: "a device's tags",
    run: async (ctx, [hostname]) => (await showDevice(ctx.lab, text(hostname, "hostname"), await access(ctx))).tags,
  },

  "scheduler.device_types.list": {
    help: "device types with their device counts",
    run: async (ctx, [all]) => listDeviceTypes(ctx.lab, all === true, await access(ctx)) as unknown as XmlRpcInput,
  },
  "scheduler.device_types.show": {
    help: "a device type",
    run: async (ctx, [name]) => {
      const seen = await access(ctx);
      const type = listDeviceTypes(ctx.lab, true, seen).find((t) => t.name === text(name, "name"));
      if (!type) throw new RpcFault(404, `Device-type '${name}' was not found.`);
      return { ...type, devices: visibleDevices(ctx.lab, seen, { deviceType: type.name }) };
    },
  },
  "scheduler.device_types.add": {
    help: "add a device type: (name, description, display, owners_only, health_frequency, health_denominator)",
    run: async (ctx, [name, description, _display, _owners, frequency, denominator]) => {
      superuser(ctx);
      await addLabDeviceType(ctx.lab, {
        name: text(name, "name"),
        description: optionalText(description),
        healthFrequency: optionalInt(frequency),
        healthDenominator: denominator === "jobs" ? "jobs" : denominator === "hours" ? "hours" : undefined,
      });
      return true;
    },
  },
  "scheduler.device_types.get_health_check": {
    help: "a device type's health-check job",
    run: async (ctx, [name]) => {
      const check = ctx.lab.labDir.healthCheck(await visibleType(ctx, name));
      if (check === undefined) throw new RpcFault(404, `Device-type '${name}' has no health check`);
      return check;
    },
  },
  "scheduler.device_types.set_health_check": {
    help: "store a device type's health-check job",
    run: (ctx, [name, definition]) => {
      superuser(ctx);
      ctx.lab.labDir.setHealthCheck(text(name, "name"), text(definition, "definition"));
      return true;
    },
  },
  "scheduler.device_types.get_template": {
    help: "a device type's template",
    run: async (ctx, [name]) => {
      const template = ctx.lab.labDir.template(await visibleType(ctx, name));
      if (template === undefined) throw new RpcFault(404, `Device-type '${name}' has no template`);
      return template;
    },
  },
  "scheduler.device_types.set_template": {
    help: "store a device type's template",
    run: (ctx, [name, template]) => {
      superuser(ctx);
      ctx.lab.labDir.setTemplate(text(name, "name"), text(template, "template"));
      return true;
    },
  },

  "scheduler.tags.list": { help: "tags", run: async (ctx) => await listTags(ctx.lab) },
};

/** A job context given as YAML (or JSON, which is YAML). */
function parseContext(text: string): Record<string, unknown> {
  const loaded = loadYaml(text);
  if (loaded.errors.length > 0 || !isMapping(loaded.value)) throw new RpcFault(400, "the context must be a mapping");
  return loaded.value as Record<string, unknown>;
}
