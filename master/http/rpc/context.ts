/**
 * What every XML-RPC method is given and checks with: the caller, LAVA's
 * faults, the readers of its loosely typed arguments, and the visibility checks
 * that make a job or device the caller may not see a 404.
 */
import type { Lab } from "../../lab/lab.ts";
import type { User } from "../../storage/schema.ts";
import {
  type Access,
  accessFor,
  assertDeviceVisible,
  assertVisible,
  mayCancel,
  resolveJobId,
} from "../../views/mod.ts";
import type { XmlRpcInput, XmlRpcValue } from "../xmlrpc.ts";

/** A failure as LAVA reports it: 400 bad request, 401 not logged in, 403 not allowed, 404 not found. */
export class RpcFault extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
    this.name = "RpcFault";
  }
}

export interface RpcContext {
  readonly lab: Lab;
  readonly user?: User;
  /** The event socket as clients should connect to it, e.g. `tcp://*:5500`. */
  readonly eventSocket: string;
}

export type Handler = (ctx: RpcContext, params: XmlRpcValue[]) => Promise<XmlRpcInput> | XmlRpcInput;

export interface Method {
  readonly help: string;
  readonly run: Handler;
}

/** A job the caller may see (LAVA's visibility), by id or sub-id. */
export async function visibleJob(ctx: RpcContext, given: XmlRpcValue | undefined): Promise<number> {
  const id = await resolveJobId(ctx.lab, given);
  await assertVisible(ctx.lab, id, ctx.user);
  return id;
}

/** The caller's standing under the lab's visibility rules. */
export function access(ctx: RpcContext): Promise<Access> {
  return accessFor(ctx.lab, ctx.user);
}

/** A device the caller may see, by host name. */
export async function visibleDevice(ctx: RpcContext, given: XmlRpcValue | undefined): Promise<string> {
  const hostname = text(given, "hostname");
  assertDeviceVisible(ctx.lab, hostname, await access(ctx));
  return hostname;
}

/** A device type's name, unless the type is one the caller may not see (a template's name need not be a type). */
export async function visibleType(ctx: RpcContext, given: XmlRpcValue | undefined): Promise<string> {
  const name = text(given, "name");
  const { rules, rights } = await access(ctx);
  if (!rules.canViewDeviceType(rights, name)) throw new RpcFault(404, `Device-type '${name}' was not found.`);
  return name;
}

/** A job the caller submitted, or any job for an administrator. */
export async function ownJob(ctx: RpcContext, given: XmlRpcValue | undefined): Promise<number> {
  const user = loggedIn(ctx);
  const id = await visibleJob(ctx, given);
  if (!await mayCancel(ctx.lab, id, user)) {
    throw new RpcFault(403, `Permission denied for user ${user.username} to cancel job ${given}.`);
  }
  return id;
}

export function loggedIn(ctx: RpcContext): User {
  if (!ctx.user) throw new RpcFault(401, "Authentication with user and token required for this API.");
  return ctx.user;
}

export function text(value: XmlRpcValue | undefined, name: string): string {
  if (typeof value === "string") return value;
  if (typeof value === "number") return String(value);
  if (value instanceof Uint8Array) return new TextDecoder().decode(value);
  throw new RpcFault(400, `${name} must be a string`);
}

export function optionalText(value: XmlRpcValue | undefined): string | undefined {
  return value === null || value === undefined || value === "" ? undefined : text(value, "value");
}

export function int(value: XmlRpcValue | undefined, fallback: number): number {
  if (value === null || value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new RpcFault(400, `${value} is not a number`);
  // Offsets and counts past this are no page of anything, and PostgreSQL's integers end there.
  if (n > 2 ** 31 - 1) throw new RpcFault(400, `${value} is out of range`);
  return n;
}

/** An optional integer: undefined when absent. */
export function optionalInt(value: XmlRpcValue | undefined): number | undefined {
  return value === null || value === undefined ? undefined : int(value, 0);
}

export function codeOf(
  codes: { parse(input: string | number): number },
  value: XmlRpcValue | undefined,
): number | undefined {
  if (value === null || value === undefined || value === "") return undefined;
  try {
    return codes.parse(String(value));
  } catch (error) {
    throw new RpcFault(400, (error as Error).message);
  }
}
