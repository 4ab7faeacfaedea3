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
import { LEGACY_METHODS } from "./rpc/legacy.ts";
import { pipelineNetworkMap } from "./rpc/network_map.ts";
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
  "system.methodSignature": {
    help: "a method's signature: LAVA describes two, every other is 'undef'",
    run: (_ctx, [name]) => {
      const method = String(name);
      if (!Object.hasOwn(METHODS, method)) return "";
      return SIGNATURES[method] ?? "undef";
    },
  },
  "system.methodHelp": { help: "what a method does", run: (_ctx, [name]) => METHODS[String(name)]?.help ?? "" },
  "system.getCapabilities": { help: "the XML-RPC extensions this server follows", run: () => CAPABILITIES },
  "system.multicall": {
    help: "several calls in one: [{methodName, params}] → [[value] or {faultCode, faultString}]",
    run: async (ctx, [calls]) => {
      if (!Array.isArray(calls)) throw new RpcFault(-32602, "system.multicall expected a list of methods to call");
      const results: XmlRpcInput[] = [];
      for (const call of calls.slice(0, 100)) {
        try {
          const { methodName, params } = multicallEntry(call);
          if (methodName === "system.multicall") throw new RpcFault(-32600, "system.multicall cannot be nested");
          results.push([await callMethod(ctx, methodName, params)]);
        } catch (error) {
          if (!(error instanceof RpcFault)) throw error;
          results.push({ faultCode: error.code, faultString: error.message });
        }
      }
      return results;
    },
  },
  "system.user_can_view_bundles": {
    help: "LAVA's result bundles are long gone: no user can view one",
    run: () => false,
  },
  "system.pipeline_network_map": {
    help: "the switches and ports the devices' `interfaces` are wired to (YAML); (switch) for one switch",
    run: (ctx, [switchName]) =>
      pipelineNetworkMap(ctx, switchName === null || switchName === undefined ? undefined : String(switchName)),
  },
  "system.get_master_certificate": {
    help: "the master's public CurveZMQ certificate, for a worker's --master-cert",
    run: (ctx) => ctx.lab.certificates.master(),
  },
  "scheduler.get_publisher_event_socket": { help: "the ZeroMQ event socket", run: (ctx) => ctx.eventSocket },
};

const SIGNATURES: Record<string, string[]> = {
  "system.methodHelp": ["str", "str"],
  "system.multicall": ["array", "array"],
};

const CAPABILITIES = {
  introspect: { specUrl: "http://xmlrpc-c.sourceforge.net/xmlrpc-c/introspection.html", specVersion: 1 },
  faults_interop: { specUrl: "http://xmlrpc-epi.sourceforge.net/specs/rfc.fault_codes.php", specVersion: 20010516 },
  auth_token: {
    specUrl: "https://blueprints.launchpad.net/linaro-django-xmlrpc/+spec/other-o-linaro-xml-rpc-auth-tokens",
    specVersion: 20110516,
  },
};

const METHODS: Record<string, Method> = {
  ...SYSTEM_METHODS,
  ...LEGACY_METHODS,
  ...JOB_METHODS,
  ...PERMISSION_METHODS,
  ...DEVICE_METHODS,
  ...DEVICE_TYPE_METHODS,
  ...WORKER_METHODS,
  ...RESULT_METHODS,
};

/** One call of a multicall, checked as LAVA checks it (each problem a -32602 fault of that call alone). */
function multicallEntry(call: XmlRpcValue): { methodName: string; params: XmlRpcValue[] } {
  const fault = (message: string) => new RpcFault(-32602, `system.multicall ${message}`);
  if (
    typeof call !== "object" || call === null || Array.isArray(call) || call instanceof Date ||
    call instanceof Uint8Array
  ) {
    throw fault("expected struct");
  }
  if (!("methodName" in call)) throw fault("methodName not specified");
  if (typeof call.methodName !== "string") throw fault("methodName must be a string");
  if (!("params" in call)) throw fault("params not specified");
  if (!Array.isArray(call.params)) throw fault("params must be an array");
  const extra = Object.keys(call).filter((k) => k !== "methodName" && k !== "params").sort();
  if (extra.length > 0) throw fault(`specified additional arguments [${extra.map(pythonRepr).join(", ")}]`);
  return { methodName: call.methodName, params: call.params };
}

/** A string as Python's repr() writes it, as LAVA's fault for an unknown method quotes the name. */
function pythonRepr(text: string): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  const body = [...text].map((c) => {
    if (c === "\\") return "\\\\";
    if (c === quote) return `\\${c}`;
    if (c === "\n") return "\\n";
    if (c === "\r") return "\\r";
    if (c === "\t") return "\\t";
    const code = c.codePointAt(0)!;
    if (code < 0x20 || code === 0x7f) return `\\x${code.toString(16).padStart(2, "0")}`;
    return c;
  }).join("");
  return `${quote}${body}${quote}`;
}

/** Runs one call; every failure becomes a fault with LAVA's codes. */
export async function callMethod(ctx: RpcContext, method: string, params: XmlRpcValue[]): Promise<XmlRpcInput> {
  const entry = Object.hasOwn(METHODS, method) ? METHODS[method] : undefined;
  if (!entry) throw new RpcFault(-32601, `No such method: ${pythonRepr(method)}`);
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
