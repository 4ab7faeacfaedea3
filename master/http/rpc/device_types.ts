/** LAVA's `scheduler.device_types.*` (with their aliases) and `scheduler.aliases.*` methods. */
import { requireAdministrator } from "../../lab/admin/authority.ts";
import { addLabAlias, addLabDeviceType, deleteLabAlias, updateLabDeviceType } from "../../lab/admin/device_types.ts";
import { AlreadyExistsError } from "../../storage/errors.ts";
import { listDeviceTypes, visibleDevices } from "../../views/mod.ts";
import type { XmlRpcInput, XmlRpcValue } from "../xmlrpc.ts";
import { access, loggedIn, type Method, optionalInt, optionalText, RpcFault, text, visibleType } from "./context.ts";

function denominator(value: XmlRpcValue | undefined): "hours" | "jobs" | undefined {
  if (value === null || value === undefined) return undefined;
  if (value === "hours" || value === "jobs") return value;
  throw new RpcFault(400, "Bad request: invalid health_denominator.");
}

function optionalBool(value: XmlRpcValue | undefined): boolean | undefined {
  return value === null || value === undefined ? undefined : value === true;
}

export const DEVICE_TYPE_METHODS: Record<string, Method> = {
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
      return {
        ...type,
        display: ctx.lab.catalog.deviceTypes.get(type.name)?.display ?? true,
        devices: visibleDevices(ctx.lab, seen, { deviceType: type.name }),
        // lavacli 1.2's `system export` still reads it (LAVA 2023.01 no longer sends it): no type is owners-only.
        owners_only: false,
      };
    },
  },
  "scheduler.device_types.add": {
    help: "add a device type: (name, description, display, owners_only, health_frequency, health_denominator)",
    run: async (ctx, [name, description, display, _owners, frequency, healthDenominator]) => {
      await addLabDeviceType(ctx.lab, loggedIn(ctx), {
        name: text(name, "name"),
        description: optionalText(description),
        display: optionalBool(display),
        healthFrequency: optionalInt(frequency),
        healthDenominator: denominator(healthDenominator),
      }).catch((error) => {
        throw error instanceof AlreadyExistsError ? new RpcFault(400, `Bad request: ${error.message}`) : error;
      });
      return null;
    },
  },
  "scheduler.device_types.update": {
    help: "change a device type: (name, description, display, owners_only, health_frequency, health_denominator, " +
      "health_disabled); only what is not nil changes",
    run: async (ctx, [name, description, display, _owners, frequency, healthDenominator, disabled]) => {
      await updateLabDeviceType(ctx.lab, loggedIn(ctx), text(name, "name"), {
        description: description === null || description === undefined ? undefined : text(description, "description"),
        display: optionalBool(display),
        healthFrequency: optionalInt(frequency),
        healthDenominator: denominator(healthDenominator),
        disableHealthCheck: optionalBool(disabled),
      });
      return null;
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
      requireAdministrator(loggedIn(ctx), "change_devicetype");
      ctx.lab.labDir.setHealthCheck(text(name, "name"), text(definition, "definition"));
      return null;
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
      requireAdministrator(loggedIn(ctx), "change_devicetype");
      ctx.lab.labDir.setTemplate(text(name, "name"), text(template, "template"));
      return null;
    },
  },
  "scheduler.device_types.aliases.add": {
    help: "give a device type an alias: (name, alias)",
    run: async (ctx, [name, alias]) => {
      await addAlias(ctx.lab, loggedIn(ctx), text(alias, "alias"), text(name, "name"));
      return null;
    },
  },
  "scheduler.device_types.aliases.list": {
    help: "a device type's aliases",
    run: async (ctx, [name]) => {
      const type = await visibleType(ctx, name);
      if (!ctx.lab.catalog.deviceTypes.has(type)) throw new RpcFault(404, `Device-type '${type}' was not found.`);
      return aliasesOf(ctx.lab.catalog.aliases, type);
    },
  },
  "scheduler.device_types.aliases.delete": {
    help: "remove a device type's alias: (name, alias)",
    run: async (ctx, [name, alias]) => {
      await deleteLabAlias(ctx.lab, loggedIn(ctx), text(alias, "alias"), text(name, "name"));
      return null;
    },
  },

  "scheduler.aliases.list": {
    help: "every alias",
    run: async (ctx) => {
      const seen = await access(ctx);
      return [...ctx.lab.catalog.aliases].filter(([, type]) => seen.rules.canViewDeviceType(seen.rights, type))
        .map(([alias]) => alias).sort();
    },
  },
  "scheduler.aliases.show": {
    help: "an alias and the device type it names",
    run: async (ctx, [name]) => {
      const alias = text(name, "name");
      const type = ctx.lab.catalog.aliases.get(alias);
      const seen = await access(ctx);
      if (type === undefined || !seen.rules.canViewDeviceType(seen.rights, type)) {
        throw new RpcFault(404, `Alias '${alias}' was not found.`);
      }
      return { name: alias, device_type: type };
    },
  },
  "scheduler.aliases.add": {
    help: "add an alias: (name, device_type_name)",
    run: async (ctx, [name, type]) => {
      if (type === null || type === undefined) throw new RpcFault(400, "Bad request. DeviceType does not exist");
      await addAlias(ctx.lab, loggedIn(ctx), text(name, "name"), text(type, "device_type_name"));
      return null;
    },
  },
  "scheduler.aliases.delete": {
    help: "remove an alias",
    run: async (ctx, [name]) => {
      await deleteLabAlias(ctx.lab, loggedIn(ctx), text(name, "name"));
      return null;
    },
  },
};

async function addAlias(...args: Parameters<typeof addLabAlias>): Promise<void> {
  await addLabAlias(...args).catch((error) => {
    throw error instanceof AlreadyExistsError
      ? new RpcFault(400, "Bad request. Alias or DeviceType name already exists.")
      : error;
  });
}

function aliasesOf(aliases: ReadonlyMap<string, string>, type: string): string[] {
  return [...aliases].filter(([, t]) => t === type).map(([alias]) => alias).sort();
}
