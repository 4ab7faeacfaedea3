/**
 * MultiNode calls a job names for one action of its pipeline, as LAVA's
 * `call_protocols`: an action block's `protocols: {lava-multinode: [{action:
 * NAME, request: lava-wait, messageID: ID, message: {key: $key}}]}` makes the
 * action NAME, when it starts, wait for message ID from the group and keep the
 * values of the keys marked `$` (LAVA's replaceable values) as the job's data
 * for ID — how an SSH guest learns its host's address (`hostID: ipv4`,
 * `host_key: ipaddr` at its boot). `lava-send` and `lava-sync` calls are made
 * as they are.
 */
import { isMapping } from "../../actors/definitions/schema.ts";
import { timeoutSeconds } from "../../actors/definitions/timeouts.ts";
import type { PipelineAction } from "../../actors/definitions/pipeline.ts";
import type { Block, JobContext } from "../strategies/context.ts";
import { JobError } from "../job/errors.ts";

const REQUESTS: Readonly<Record<string, string>> = {
  "lava-wait": "lava_wait",
  "lava-wait-all": "lava_wait_all",
  "lava-send": "lava_send",
  "lava-sync": "lava_sync",
};

/** The calls the block makes for `action`, in the order given. */
function callsFor(block: Block, action: PipelineAction): Block[] {
  const protocols = isMapping(block.protocols) ? block.protocols["lava-multinode"] : undefined;
  return Array.isArray(protocols) ? protocols.filter((c): c is Block => isMapping(c) && c.action === action.name) : [];
}

/** Makes the block's MultiNode calls for `action`; the values a wait brings are kept in `ctx.multinodeData`. */
export async function callActionProtocols(
  ctx: JobContext,
  action: PipelineAction,
  block: Block,
  signal: AbortSignal,
): Promise<void> {
  const calls = callsFor(block, action);
  if (calls.length === 0) return;
  if (!ctx.multinode) throw new JobError(`${action.name}: lava-multinode calls in a job that is not MultiNode`);
  for (const call of calls) {
    const request = REQUESTS[String(call.request)];
    const messageID = call.messageID;
    if (!request || typeof messageID !== "string" || messageID === "") {
      throw new JobError(
        `${action.name}: a lava-multinode call needs a request (lava-wait, lava-send...) and a messageID`,
      );
    }
    const message = isMapping(call.message) ? call.message : {};
    const timeout = timeoutSeconds(call.timeout) ?? ctx.multinode.info.apiTimeoutS;
    ctx.log.info(`Making protocol call for ${action.name} using lava-multinode: ${call.request} ${messageID}`);
    const fields: Record<string, unknown> = { request, messageID };
    if (request === "lava_send") {
      fields.message = Object.fromEntries(Object.entries(message).map(([k, v]) => [k, String(v)]));
    }
    if (request === "lava_wait") fields.nodeID = ctx.multinode.info.jobId;
    if (request === "lava_wait_all" && typeof call.role === "string") fields.waitrole = call.role;
    const reply = await ctx.multinode.request(fields, timeout, signal);
    if (reply.response === "nack") {
      throw new JobError(`${action.name}: the coordinator refused ${call.request} ${messageID}`);
    }
    if (request !== "lava_wait" && request !== "lava_wait_all") continue;
    // A secondary connection takes what it connects to from its host role alone, not from any member of the group.
    const hostRole = typeof ctx.job.host_role === "string" ? ctx.job.host_role : undefined;
    const roles = ctx.multinode.info.roles;
    const senders = isMapping(reply.message) && hostRole
      ? Object.fromEntries(Object.entries(reply.message).filter(([sender]) => roles.get(sender) === hostRole))
      : reply.message;
    const data = replaceableValues(
      message,
      senders,
      (key) => ctx.log.warning(`Skipping ${key} - not found in the ${messageID} message`),
    );
    if (Object.keys(data).length === 0) {
      throw new JobError(`Unable to identify replaceable values in the parameters of ${messageID}`);
    }
    ctx.log.info(`Setting namespace data key ${messageID} to ${JSON.stringify(data)}`);
    ctx.multinodeData.set(messageID, data);
  }
}

/**
 * The values a wait's reply (`{sender: {key: value}}`) gives the keys the call marks replaceable (`key: $key`): the
 * first sender's that has the key, as LAVA's collate.
 */
export function replaceableValues(
  message: Record<string, unknown>,
  reply: unknown,
  missing: (key: string) => void = () => {},
): Record<string, string> {
  const senders = isMapping(reply) ? Object.values(reply).filter(isMapping) : [];
  const data: Record<string, string> = {};
  for (const [key, value] of Object.entries(message)) {
    if (typeof value !== "string" || !value.startsWith("$")) continue;
    const found = senders.find((s) => Object.hasOwn(s, key))?.[key];
    if (found === undefined) missing(key);
    else data[key] = String(found);
  }
  return data;
}
