/**
 * A MultiNode group on the master: its sub-jobs wait in the queue together
 * (Waiting), are placed together (Running), and end together. LAVA's rule for
 * ending early is here: a member cancelled, or a member of an essential role
 * ending other than Complete, cancels every member still going (Canceling).
 * The group is Ended when its last member is.
 *
 * Its one effect, injected: cancelling the members that have not ended.
 */
import { assign, setup } from "xstate";
import type { JobHealthName } from "./job.ts";

export interface GroupMember {
  readonly id: string;
  /** The member's role is `essential: true` in its `lava-multinode` protocol. */
  readonly essential: boolean;
}

export interface GroupContext {
  readonly group: string;
  readonly members: readonly GroupMember[];
  /** The ids of the members that have ended. */
  readonly ended: readonly string[];
  /** Why the group is being cancelled. */
  readonly reason?: string;
}

export type GroupEvent =
  /** Every member got its device in one decision. */
  | { type: "placed" }
  | { type: "memberEnded"; job: string; health: JobHealthName }
  /** A user, a queue timeout or an admin cancels the whole group. */
  | { type: "cancel"; reason: string };

type MemberEnded = Extract<GroupEvent, { type: "memberEnded" }>;
const ending = (event: GroupEvent) => event as MemberEnded;

const notProvided = (name: string) => () => {
  throw new Error(`group action ${name} is not provided`);
};

/** The first rule whose guard holds: the last member ends the group; a failure that ends the group cancels it. */
const MEMBER_ENDED = [
  { guard: "lastMember", target: "Ended", actions: "recordEnd" },
  { guard: "endsGroup", target: "Canceling", actions: ["recordEnd", "recordFailure"] },
  { actions: "recordEnd" },
] as const;

export const groupMachine = setup({
  types: {
    context: {} as GroupContext,
    input: {} as { group: string; members: readonly GroupMember[]; ended?: readonly string[] },
    events: {} as GroupEvent,
  },
  actions: {
    /** Cancels every member not in `context.ended`. */
    cancelMembers: notProvided("cancelMembers") as (args: { context: GroupContext }) => void,
    recordEnd: assign({
      ended: ({ context, event }) =>
        context.ended.includes(ending(event).job) ? context.ended : [...context.ended, ending(event).job],
    }),
    recordFailure: assign({
      reason: ({ event }) => `job ${ending(event).job} ended ${ending(event).health}`,
    }),
    recordCancel: assign({ reason: ({ event }) => (event as { reason: string }).reason }),
  },
  guards: {
    lastMember: ({ context, event }) =>
      context.members.every((m) => m.id === ending(event).job || context.ended.includes(m.id)),
    endsGroup: ({ context, event }) => {
      const { job, health } = ending(event);
      if (health === "Complete") return false;
      return health === "Canceled" || context.members.some((m) => m.id === job && m.essential);
    },
  },
}).createMachine({
  id: "group",
  context: ({ input }) => ({ group: input.group, members: input.members, ended: input.ended ?? [] }),
  initial: "Waiting",
  states: {
    Waiting: {
      on: {
        placed: "Running",
        memberEnded: MEMBER_ENDED,
        cancel: { target: "Canceling", actions: "recordCancel" },
      },
    },
    Running: {
      on: {
        memberEnded: MEMBER_ENDED,
        cancel: { target: "Canceling", actions: "recordCancel" },
      },
    },
    Canceling: {
      entry: "cancelMembers",
      on: {
        memberEnded: [
          { guard: "lastMember", target: "Ended", actions: "recordEnd" },
          { actions: "recordEnd" },
        ],
      },
    },
    Ended: { type: "final" },
  },
});
