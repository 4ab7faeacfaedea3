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
 * `nack` and changes nothing.
 *
 * Keys keep their insertion order (Maps), as Python's dicts do: replies list
 * senders and roles in the order LAVA would.
 */

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

function nack(problem: string, changed = false, group?: string): Outcome {
  return { reply: NACK, changed, problem, group };
}

export class Groups {
  readonly groups = new Map<string, Group>();

  constructor(private readonly now: () => number = Date.now) {}

  handle(request: Request): Outcome {
    if (typeof request.request !== "string") return nack("no request");
    if (request.client_name === undefined || request.client_name === null) return nack("no client_name");
    const client = String(request.client_name);
    if (typeof request.group_name !== "string" || request.group_name === "") return nack("no group_name");
    const name = request.group_name;
    let group = this.groups.get(name);
    let changed = false;
    if (!group) {
      const size = Number(request.group_size);
      if (request.group_size === undefined || request.group_size === null || request.group_size === 0) {
        return nack(`${client} asked for a new group ${name} without its size`);
      }
      if (!Number.isInteger(size) || size <= 0) {
        return nack(`group_size ${JSON.stringify(request.group_size)} is not a size`);
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
      };
      this.groups.set(name, group);
      changed = true;
    }
    if (!group.clients.has(client)) {
      if (request.hostname === undefined || typeof request.role !== "string") {
        if (changed) this.groups.delete(name);
        return nack(`a new client ${client} of ${name} gave no hostname or role`);
      }
      group.clients.set(client, String(request.hostname));
      const members = group.roles.get(request.role) ?? [];
      members.push(client);
      group.roles.set(request.role, members);
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
      case "complete":
        return { reply: null, changed: false };
      default:
        return nack(`unknown request ${JSON.stringify(request.request)}`);
    }
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
        return nack(`lava_send of ${id} after a lava_sync with the same id`);
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
      return nack("aggregate without bundle or sub_id");
    }
    group.bundles.set(client, request.bundle);
    if (!String(request.sub_id).endsWith(".0")) return { reply: ACK, changed: true };
    if (group.bundles.size < group.count) {
      group.rpcDelay = 2;
      return { reply: WAIT, changed: true };
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

/** A group as plain JSON, for the state file. */
export function serializeGroup(group: Group): string {
  return JSON.stringify({
    ...group,
    clients: [...group.clients],
    roles: [...group.roles],
    syncs: [...group.syncs].map(([id, round]) => [id, [...round]]),
    messages: [...group.messages].map(([client, boxes]) => [
      client,
      [...boxes].map(([id, box]) => [id, typeof box === "string" ? { sync: box } : { box: [...box] }]),
    ]),
    waits: [...group.waits].map(([id, w]) => [id, { senders: [...w.senders], data: [...w.data] }]),
    bundles: [...group.bundles],
  });
}

export function deserializeGroup(text: string): Group {
  const raw = JSON.parse(text);
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
      raw.messages.map(([client, boxes]: [string, [string, { sync?: string; box?: [string, unknown][] }][]]) => [
        client,
        new Map(boxes.map(([id, box]) => [id, box.sync !== undefined ? box.sync : new Map(box.box)])),
      ]),
    ),
    waits: new Map(
      raw.waits.map((
        [id, w]: [string, { senders: string[]; data: [string, unknown][] }],
      ) => [id, { senders: new Set(w.senders), data: new Map(w.data) }]),
    ),
    bundles: new Map(raw.bundles),
  };
}
