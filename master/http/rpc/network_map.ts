/**
 * LAVA's `system.pipeline_network_map`: which switch port each device's
 * network interface is wired to, from the `interfaces`, `map`, `mac_addr` and
 * `sysfs` of the devices' rendered configurations, as YAML.
 */
import { parse, stringify } from "yaml";
import { isMapping } from "../../../actors/definitions/schema.ts";
import { listDevices } from "../../views/mod.ts";
import { access, loggedIn, type RpcContext, RpcFault } from "./context.ts";

interface Port {
  port: unknown;
  device: { interface: string; mac: unknown; sysfs: unknown; hostname: string };
}

export async function pipelineNetworkMap(ctx: RpcContext, switchName?: string): Promise<string> {
  loggedIn(ctx);
  const switches: Record<string, Port[]> = {};
  for (const device of await listDevices(ctx.lab, true, await access(ctx))) {
    let params: unknown;
    try {
      params = parse(ctx.lab.labDir.render(ctx.lab.catalog.devices.get(device.hostname)!));
    } catch {
      continue; // a device that does not render has no wiring to show
    }
    if (!isMapping(params) || !Array.isArray(params.interfaces)) continue;
    const map = isMapping(params.map) ? params.map : {};
    for (const name of params.interfaces.map(String)) {
      const wiring = isMapping(map[name]) ? map[name] : {};
      for (const [switchId, port] of Object.entries(wiring)) {
        const ports = switches[switchId] ??= [];
        if (ports.some((p) => p.port === port)) continue;
        ports.push({
          port,
          device: {
            interface: name,
            mac: isMapping(params.mac_addr) ? params.mac_addr[name] : undefined,
            sysfs: isMapping(params.sysfs) ? params.sysfs[name] : undefined,
            hostname: device.hostname,
          },
        });
      }
    }
  }
  if (switchName === undefined) return stringify({ switches });
  if (!Object.hasOwn(switches, switchName)) {
    throw new RpcFault(404, `No switch '${switchName}' was found in the network map of supported devices.`);
  }
  return stringify(switches[switchName]);
}
