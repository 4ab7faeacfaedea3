/**
 * The coordinator's groups and what each request does to them, with LAVA's
 * semantics — including the ones clients can observe and rely on: any request
 * registers its client, an existing group ignores `group_size`, `lava_wait`
 * does not consume its mailbox, `lava_wait_all` answers `nack` before anyone has
 * sent, a `lava_sync` round needs one more poll after the last arrival and
 * clears when everyone has collected it, `clear_group` counts calls.
 *
 * Where LAVA's coordinator crashes (a missing group name, hostname or role, an
 * unknown `waitrole`, a send after a sync on the same id), this one answers
 * `nack` and changes nothing. A request that is malformed (a field of the
 * wrong type, a name too long, an unknown request) or over a bound (see
 * limits.ts) is answered `nack` with an `error` saying which field or bound;
 * LAVA's clients look only at `response`, so the extra key costs them nothing.
 *
 * Keys keep their insertion order (Maps), as Python's dicts do: replies list
 * senders and roles in the order LAVA would.
 */

import type { CoordinatorLimits } from "./limits.ts";

export type Reply = { readonly response: string; readonly [key: string]: unknown };

export const WAIT: Reply = { response: "wait" };
export const NACK: Reply = { response: "nack" };
export const ACK: Reply = { response: "ack" };

/** A mailbox entry: the messages of each sender, or the sync message a `lava_sync` left there. */
type Mailbox = Map<string, unknown> | string;

export interface Group {
  readonly name: string;
  readonly count: number;
  complete: number;
  readonly clients: Map<string, string>;
  readonly roles: Map<string, string[]>;
  readonly syncs: Map<string, Map<string, 0 | 1>>;
  readonly messages: Map<string, Map<string, Mailbox>>;
  readonly waits: Map<string, { senders: Set<string>; data: Map<string, unknown> }>;
  readonly bundles: Map<string, unknown>;
  rpcDelay: number;
  /** Milliseconds since the epoch of the last request, for expiry. */
  touched: number;
  /** The address that created the group, for the per-address bound. */
  readonly creator?: string;
}

export interface Outcome {
  /** The reply, or null when the connection is closed without one (`complete`). */
  readonly reply: Reply | null;
  /** Whether the groups changed (to be persisted, and to wake held requests). */
  readonly changed: boolean;
  /** The group the request was about, when there is one. */
  readonly group?: string;
  /** Why a request was refused, for the log. */
  readonly problem?: string;
}

type Request = Record<string, unknown>;

/** LAVA keys a missing messageID as Python's None. */
function messageKey(request: Request): string {
  const id = request.messageID;
  return id === undefined || id === null ? "\u0000None" : String(id);
}

/** A nack as LAVA gives it, for a question about state (no such group, role or message yet). */
function nack(problem: string, changed = false, group?: string): Outcome {
  return { reply: NACK, changed, problem, group };
}

/** A nack for a request that is malformed or over a bound: the reply says what was wrong. */
export function refuse(problem: string): Outcome {
  return { reply: { response: "nack", error: problem }, changed: false, problem };
}

export type GroupLimits = Pick<
  CoordinatorLimits,
  "maxGroups" | "maxGroupsPerAddress" | "maxGroupSize" | "maxNameLength"
>;

const UNBOUNDED: GroupLimits = {
  maxGroups: Infinity,
  maxGroupsPerAddress: Infinity,
  maxGroupSize: Infinity,
  maxNameLength: Infinity,
};

const REQUESTS = new Set([
  "group_data",
  "lava_send",
  "lava_wait",
  "lava_wait_all",
  "lava_sync",
  "clear_group",
  "aggregate",
  "complete",
]);

/**
 * The request's names as strings, or what is wrong with them. LAVA's clients
 * send strings (a job id may be a number); anything else would only be turned
 * into "[object Object]" and stored.
 */
function checkNames(request: Request, maxLength: number): string | undefined {
  const fields: [string, boolean][] = [
    ["client_name", true],
    ["group_name", true],
    ["hostname", true],
    ["role", false],
    ["messageID", true],
    ["waitrole", false],
  ];
  for (const [field, numbers] of fields) {
    const value = request[field];
    if (value === undefined || value === null) continue;
    if (typeof value === "number" && numbers && Number.isFinite(value)) continue;
    if (typeof value !== "string") return `${field} must be a ${numbers ? "string or a number" : "string"}`;
    if (value.length > maxLength) return `${field} is ${value.length} characters, over the limit of ${maxLength}`;
  }
  return undefined;
}

export class Groups {
  readonly groups = new Map<string, Group>();

  constructor(private readonly now: () => number = Date.now, private readonly limits: GroupLimits = UNBOUNDED) {}

  /** Runs one request; `address` is the peer's, which counts the groups it creates. */
  handle(request: Request, address = ""): Outcome {
    if (typeof request.request !== "string") return refuse("request must be a string");
    if (!REQUESTS.has(request.request)) return refuse(`unknown request ${JSON.stringify(request.request)}`);
    const problem = checkNames(request, this.limits.maxNameLength);
    if (problem) return refuse(problem);
    if (request.client_name === undefined || request.client_name === null) return refuse("no client_name");
    const client = String(request.client_name);
    if (typeof request.group_name !== "string" || request.group_name === "") return refuse("no group_name");
    const name = request.group_name;
    let group = this.groups.get(name);
    let changed = false;
    if (!group) {
      if (request.group_size === undefined || request.group_size === null || request.group_size === 0) {
        return nack(`${client} asked for a new group ${name} without its size`);
      }
      const size = request.group_size;
      if (typeof size !== "number" || !Number.isInteger(size) || size <= 0 || size > this.limits.maxGroupSize) {
        return refuse(
          `group_size ${JSON.stringify(size)} is not a whole number from 1 to ${this.limits.maxGroupSize}`,
        );
      }
      if (this.groups.size >= this.limits.maxGroups) {
        return refuse(`the coordinator holds its limit of ${this.limits.maxGroups} groups; ${name} was not created`);
      }
      if (this.#createdBy(address) >= this.limits.maxGroupsPerAddress) {
        return refuse(
          `${address} created ${this.limits.maxGroupsPerAddress} groups that are not cleared yet, the limit; ${name} was not created`,
        );
      }
      group = {
        name,
        count: size,
        complete: 0,
        clients: new Map(),
        roles: new Map(),
        syncs: new Map(),
        messages: new Map(),
        waits: new Map(),
        bundles: new Map(),
        rpcDelay: 2,
        touched: this.now(),
        creator: address,
      };
      this.groups.set(name, group);
      changed = true;
    }
    if (!group.clients.has(client)) {
      const refusal = request.hostname === undefined || request.hostname === null || typeof request.role !== "string"
        ? `a new client ${client} of ${name} gave no hostname or role`
        : group.clients.size >= group.count
        ? `${name} already has its ${group.count} clients; ${client} is not one of them`
        : undefined;
      if (refusal) {
        if (changed) this.groups.delete(name);
        return refuse(refusal);
      }
      const role = request.role as string;
      group.clients.set(client, String(request.hostname));
      const members = group.roles.get(role) ?? [];
      members.push(client);
      group.roles.set(role, members);
      changed = true;
    }
    group.touched = this.now();
    const outcome = this.#dispatch(group, client, request);
    return { ...outcome, changed: changed || outcome.changed, group: name };
  }

  #dispatch(group: Group, client: string, request: Request): Outcome {
    switch (request.request) {
      case "group_data":
        return this.#groupData(group);
      case "lava_send":
        return this.#send(group, client, request);
      case "lava_wait": {
        const mailbox = group.messages.get(client)?.get(messageKey(request));
        return { reply: mailbox === undefined ? WAIT : { response: "ack", message: mailbox }, changed: false };
      }
      case "lava_wait_all":
        return typeof request.waitrole === "string" && request.waitrole !== ""
          ? this.#waitAllRole(group, client, request)
          : this.#waitAll(group, request);
      case "lava_sync":
        return this.#sync(group, client, request);
      case "clear_group": {
        group.complete++;
        if (group.clients.size <= group.complete) this.groups.delete(group.name);
        return { reply: ACK, changed: true };
      }
      case "aggregate":
        return this.#aggregate(group, client, request);
      default: // "complete", the only other one handle() lets through
        return { reply: null, changed: false };
    }
  }

  #createdBy(address: string): number {
    let count = 0;
    for (const group of this.groups.values()) if (group.creator === address) count++;
    return count;
  }

  #groupData(group: Group): Outcome {
    if (group.clients.size !== group.count) return { reply: WAIT, changed: false };
    const roles = new Map<string, string>();
    for (const [role, members] of group.roles) for (const member of members) roles.set(member, role);
    return { reply: { response: "group_data", roles }, changed: false };
  }

  #send(group: Group, sender: string, request: Request): Outcome {
    const id = messageKey(request);
    const message = request.messageID === undefined || request.messageID === null || request.message === undefined
      ? new Map()
      : request.message;
    // A sync left a plain string in someone's mailbox for this id: LAVA dies here; refuse instead.
    for (const client of group.clients.keys()) {
      if (typeof group.messages.get(client)?.get(id) === "string") {
        return refuse(`lava_send of ${id} after a lava_sync with the same id`);
      }
    }
    for (const client of group.clients.keys()) {
      let boxes = group.messages.get(client);
      if (!boxes) group.messages.set(client, boxes = new Map());
      let box = boxes.get(id) as Map<string, unknown> | undefined;
      if (!box) boxes.set(id, box = new Map());
      box.set(sender, message);
    }
    let wait = group.waits.get(id);
    if (!wait) group.waits.set(id, wait = { senders: new Set(), data: new Map() });
    wait.senders.add(sender);
    wait.data.set(sender, message);
    return { reply: ACK, changed: true };
  }

  #waitAll(group: Group, request: Request): Outcome {
    const wait = group.waits.get(messageKey(request));
    if (!wait) return { reply: NACK, changed: false };
    for (const client of group.clients.keys()) if (!wait.senders.has(client)) return { reply: WAIT, changed: false };
    return { reply: { response: "ack", message: wait.data }, changed: false };
  }

  #waitAllRole(group: Group, client: string, request: Request): Outcome {
    const expected = group.roles.get(String(request.waitrole))?.[0];
    if (expected === undefined) {
      return nack(`waitrole ${JSON.stringify(request.waitrole)} is not a role of ${group.name}`);
    }
    const own = group.roles.get(String(request.role));
    if (!own) return nack(`role ${JSON.stringify(request.role)} is not a role of ${group.name}`);
    const id = messageKey(request);
    // LAVA checks only the first member of the awaited role, looping over the caller's own role.
    for (const member of own) {
      const wait = group.waits.get(id);
      if (!wait) return { reply: WAIT, changed: false };
      if (wait.senders.has(expected)) {
        const mailbox = group.messages.get(client)?.get(id);
        return { reply: mailbox === undefined ? NACK : { response: "ack", message: mailbox }, changed: false };
      }
      if (!wait.senders.has(member)) return { reply: WAIT, changed: false };
    }
    const wait = group.waits.get(id);
    return { reply: wait?.senders.has(client) ? { response: "ack", message: wait.data } : NACK, changed: false };
  }

  #sync(group: Group, client: string, request: Request): Outcome {
    const id = messageKey(request);
    const message = request.message ? request.message : request.messageID ?? null;
    let round = group.syncs.get(id);
    if (!round) group.syncs.set(id, round = new Map());
    let boxes = group.messages.get(client);
    if (!boxes) group.messages.set(client, boxes = new Map());
    const stored = typeof message === "string" ? message : JSON.stringify(message);
    // A repeated poll that finds things as they were is no change (held requests are asked again on changes).
    let changed = boxes.get(id) !== stored;
    boxes.set(id, stored);
    if (round.size >= group.count) {
      round.set(client, 0);
      if ([...round.values()].every((v) => v === 0)) group.syncs.delete(id);
      return { reply: { response: "ack", message }, changed: true };
    }
    changed ||= round.get(client) !== 1;
    round.set(client, 1);
    return { reply: WAIT, changed };
  }

  #aggregate(group: Group, client: string, request: Request): Outcome {
    if (request.bundle === undefined || request.sub_id === undefined || request.sub_id === null) {
      return refuse("aggregate without bundle or sub_id");
    }
    if (typeof request.sub_id !== "string" && typeof request.sub_id !== "number") {
      return refuse("sub_id must be a string or a number");
    }
    // Only a real change counts: a held aggregate is asked again on every change, and one that
    // reported a change each time it waited would be asked again forever.
    let changed = group.bundles.get(client) !== request.bundle;
    group.bundles.set(client, request.bundle);
    if (!String(request.sub_id).endsWith(".0")) return { reply: ACK, changed };
    if (group.bundles.size < group.count) {
      changed ||= group.rpcDelay !== 2;
      group.rpcDelay = 2;
      return { reply: WAIT, changed };
    }
    if (group.rpcDelay > 0) {
      group.rpcDelay--;
      return { reply: WAIT, changed: true };
    }
    return { reply: { response: "ack", message: { bundle: Object.fromEntries(group.bundles) } }, changed: true };
  }

  /** Drops groups not used for `maxIdleMs`; returns their names. */
  expire(maxIdleMs: number): string[] {
    const limit = this.now() - maxIdleMs;
    const gone = [...this.groups.values()].filter((g) => g.touched < limit).map((g) => g.name);
    for (const name of gone) this.groups.delete(name);
    return gone;
  }
}

/**
 * How a client's mailbox for an id is stored. Every `lava_send` puts the same
 * message in each client's mailbox and in the id's `waits`, so a mailbox is
 * stored as a reference to those — `all` when it holds exactly what `waits`
 * holds, in the same order, else the list of its senders — and only a mailbox
 * that differs is written out whole (rows from before this format). Written
 * out each time, a group of N clients would store every message N + 1 times.
 */
type StoredMailbox = { sync: string } | { all: true } | { senders: string[] } | { box: [string, unknown][] };

function storeMailbox(box: Mailbox, data: Map<string, unknown> | undefined): StoredMailbox {
  if (typeof box === "string") return { sync: box };
  const senders = [...box.keys()];
  if (!data || senders.some((sender) => data.get(sender) !== box.get(sender))) return { box: [...box] };
  const all = [...data.keys()];
  return all.length === senders.length && all.every((sender, i) => senders[i] === sender) ? { all: true } : { senders };
}

function loadMailbox(stored: StoredMailbox, data: Map<string, unknown> | undefined): Mailbox {
  if ("sync" in stored) return stored.sync;
  if ("box" in stored) return new Map(stored.box);
  const senders = "all" in stored ? [...(data?.keys() ?? [])] : stored.senders;
  return new Map(senders.map((sender) => [sender, data?.get(sender)]));
}

/** A group as plain JSON, for the state file. */
export function serializeGroup(group: Group): string {
  return JSON.stringify({
    ...group,
    clients: [...group.clients],
    roles: [...group.roles],
    syncs: [...group.syncs].map(([id, round]) => [id, [...round]]),
    messages: [...group.messages].map(([client, boxes]) => [
      client,
      [...boxes].map(([id, box]) => [id, storeMailbox(box, group.waits.get(id)?.data)]),
    ]),
    waits: [...group.waits].map(([id, w]) => [id, { senders: [...w.senders], data: [...w.data] }]),
    bundles: [...group.bundles],
  });
}

export function deserializeGroup(text: string): Group {
  const raw = JSON.parse(text);
  const waits: Group["waits"] = new Map(
    raw.waits.map((
      [id, w]: [string, { senders: string[]; data: [string, unknown][] }],
    ) => [id, { senders: new Set(w.senders), data: new Map(w.data) }]),
  );
  return {
    name: raw.name,
    count: raw.count,
    complete: raw.complete,
    rpcDelay: raw.rpcDelay,
    touched: raw.touched,
    clients: new Map(raw.clients),
    roles: new Map(raw.roles),
    syncs: new Map(raw.syncs.map(([id, round]: [string, [string, 0 | 1][]]) => [id, new Map(round)])),
    messages: new Map(
      raw.messages.map(([client, boxes]: [string, [string, StoredMailbox][]]) => [
        client,
        new Map(boxes.map(([id, box]) => [id, loadMailbox(box, waits.get(id)?.data)])),
      ]),
    ),
    waits,
    bundles: new Map(raw.bundles),
    ...(typeof raw.creator === "string" ? { creator: raw.creator } : {}),
  };
}
