/**
 * LAVA's XML-RPC API at `/RPC2`, the methods `lavacli` and scripts built on
 * Python's `xmlrpc.client` call, with LAVA's argument orders, return shapes and
 * fault codes (400 bad request, 401 not logged in, 403 not allowed, 404 not
 * found). Every failure is a fault, never an HTTP error: lavacli retries HTTP
 * errors for ever while following logs.
 *
 * The methods are grouped by LAVA's namespaces under rpc/: jobs, devices (with
 * tags), device types (with aliases), workers, results, and the `system.*`
 * methods about permissions; the rest of `system.*` is here, as it describes
 * them all.
 */
import { BASALT_VERSION } from "../../actors/version.ts";
import { clientErrorStatus } from "./errors.ts";
import { type Method, type RpcContext, RpcFault } from "./rpc/context.ts";
import { DEVICE_TYPE_METHODS } from "./rpc/device_types.ts";
import { DEVICE_METHODS } from "./rpc/devices.ts";
import { JOB_METHODS } from "./rpc/jobs.ts";
import { PERMISSION_METHODS } from "./rpc/permissions.ts";
import { RESULT_METHODS } from "./rpc/results.ts";
import { WORKER_METHODS } from "./rpc/workers.ts";
import type { XmlRpcInput, XmlRpcValue } from "./xmlrpc.ts";

export { type RpcContext, RpcFault } from "./rpc/context.ts";

const SYSTEM_METHODS: Record<string, Method> = {
  "system.version": { help: "the master's version", run: () => BASALT_VERSION },
  "system.api_version": { help: "the API's version (LAVA's is 2)", run: () => 2 },
  "system.whoami": { help: "the authenticated user's name, or nil", run: (ctx) => ctx.user?.username ?? null },
  "system.master_config": {
    help: "where events are published",
    run: (ctx) => ({
      EVENT_TOPIC: ctx.lab.events.topicPrefix,
      EVENT_SOCKET: ctx.eventSocket,
      EVENT_NOTIFICATION: true,
      LOG_SIZE_LIMIT: 0,
    }),
  },
  "system.listMethods": { help: "the methods of this API", run: () => Object.keys(METHODS).sort() },
  "system.methodHelp": { help: "what a method does", run: (_ctx, [name]) => METHODS[String(name)]?.help ?? "" },
  "system.methodSignature": { help: "not described", run: () => "signatures not supported" },
  "scheduler.get_publisher_event_socket": { help: "the ZeroMQ event socket", run: (ctx) => ctx.eventSocket },
};

const METHODS: Record<string, Method> = {
  ...SYSTEM_METHODS,
  ...JOB_METHODS,
  ...PERMISSION_METHODS,
  ...DEVICE_METHODS,
  ...DEVICE_TYPE_METHODS,
  ...WORKER_METHODS,
  ...RESULT_METHODS,
};

/** Runs one call; every failure becomes a fault with LAVA's codes. */
export async function callMethod(ctx: RpcContext, method: string, params: XmlRpcValue[]): Promise<XmlRpcInput> {
  const entry = Object.hasOwn(METHODS, method) ? METHODS[method] : undefined;
  if (!entry) throw new RpcFault(-32601, `method "${method}" is not supported`);
  try {
    return await entry.run(ctx, params);
  } catch (error) {
    if (error instanceof RpcFault) throw error;
    const status = clientErrorStatus(error);
    if (status !== undefined) throw new RpcFault(status, (error as Error).message);
    if (error instanceof Error && /already exists|not valid|does not exist|unknown/.test(error.message)) {
      throw new RpcFault(400, error.message);
    }
    throw error;
  }
}
