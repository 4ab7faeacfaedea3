/**
 * One process's actors and mailboxes, composed: its journal, the group committer
 * in front of it, the root supervisor whose actors persist through it, the
 * transition stream, and the mailbox endpoints that carry messages to and from
 * other processes. The master and each worker open one host; a dispatch process
 * opens none (its worker follows its log file and reads its result).
 *
 * It lives apart from `actors/runtime/` because it composes the runtime with
 * `actors/mailbox/`, which itself journals through the runtime: the dependency
 * runs one way, host → mailbox → runtime.
 */
import {
  type ConnectMode,
  type Delivery,
  type DeliveryScope,
  type ListenMode,
  MailboxEndpoint,
  type PeerEvent,
} from "../mailbox/endpoint.ts";
import type { Parsers, Protocol } from "../mailbox/protocol.ts";
import { Committer } from "../runtime/committer.ts";
import type { Journal, JournalContents, SnapshotRecord } from "../runtime/journal.ts";
import type { Logger } from "../runtime/log.ts";
import { type Escalation, type RestartPolicy, Supervisor } from "../runtime/supervisor.ts";
import { TransitionStream } from "../runtime/transitions.ts";
import { ZmqReactor } from "../transport/zmq/reactor.ts";

export interface HostOptions<Tx> {
  readonly name: string;
  readonly journal: Journal<Tx>;
  readonly logger: Logger;
  readonly policy?: RestartPolicy;
  /** When the root supervisor gives up. Defaults to logging and exiting with status 70. */
  readonly onEscalate?: (escalation: Escalation) => void;
}

export interface MailboxOptions<P extends Parsers, Tx> {
  readonly protocol: Protocol<P>;
  readonly mode: ListenMode | ConnectMode;
  readonly onMessage: (delivery: Delivery<P>, scope: DeliveryScope<Tx>) => void;
  readonly onPeer?: (event: PeerEvent) => void;
  readonly onTransient?: (delivery: Delivery<P>) => void;
  readonly summary?: (peer: string) => unknown;
  readonly accepts?: (to: string) => boolean;
  readonly sessionRefusal?: (peer: string, authenticated: boolean) => string | undefined;
  readonly heartbeatMs?: number;
  readonly missedHeartbeats?: number;
  readonly window?: number;
  readonly retransmitAfterMs?: number;
}

export class ActorHost<Tx> {
  readonly committer: Committer<Tx>;
  readonly supervisor: Supervisor;
  readonly transitions = new TransitionStream();
  readonly #endpoints: MailboxEndpoint<Parsers, Tx>[] = [];
  #reactor: ZmqReactor | undefined;
  readonly #snapshots = new Map<string, SnapshotRecord>();

  private constructor(readonly options: HostOptions<Tx>, readonly contents: JournalContents) {
    const logger = options.logger;
    this.committer = new Committer(options.journal, {
      onError: (error, attempt) => logger.error("journal write failed; retrying", { error, attempt }),
    });
    for (const record of contents.snapshots) this.#snapshots.set(`${record.kind}/${record.id}`, record);
    this.supervisor = new Supervisor(options.name, {
      policy: options.policy,
      logger,
      transitions: this.transitions,
      persistence: {
        snapshot: (kind, id, sequence, snapshot) =>
          this.committer.stage((batch) => batch.snapshots.push({ kind, id, sequence, snapshot })),
        transition: (record) => this.committer.stage((batch) => batch.transitions.push(record)),
        removed: (kind, id) => this.committer.stage((batch) => batch.snapshots.push({ kind, id, removed: true })),
      },
      onEscalate: options.onEscalate ?? ((escalation) => {
        logger.error("the root supervisor gave up; stopping the process", { ...escalation });
        Deno.exit(70);
      }),
    });
  }

  static async open<Tx>(options: HostOptions<Tx>): Promise<ActorHost<Tx>> {
    return new ActorHost(options, await options.journal.load());
  }

  get name(): string {
    return this.options.name;
  }

  get logger(): Logger {
    return this.options.logger;
  }

  /** The snapshot an actor had when the process last stopped, to restart it from. */
  restored(kind: string, id: string): { snapshot: unknown; sequence: number } | undefined {
    return this.#snapshots.get(`${kind}/${id}`);
  }

  /** Every restored snapshot of one kind of actor. */
  restoredOfKind(kind: string): SnapshotRecord[] {
    return [...this.#snapshots.values()].filter((r) => r.kind === kind);
  }

  /** The process's ZeroMQ reactor, started on first use. */
  get reactor(): ZmqReactor {
    if (!this.#reactor) {
      this.#reactor = new ZmqReactor();
      this.#reactor.onHandlerError = (error) => this.logger.error("ZeroMQ handler failed", { error });
    }
    return this.#reactor;
  }

  async mailbox<P extends Parsers>(options: MailboxOptions<P, Tx>): Promise<MailboxEndpoint<P, Tx>> {
    const endpoint = await MailboxEndpoint.open<P, Tx>({
      ...options,
      name: this.name,
      epoch: this.options.journal.epoch,
      reactor: this.reactor,
      committer: this.committer,
      contents: this.contents,
      logger: this.logger.with({ mailbox: options.mode.kind }),
    });
    this.#endpoints.push(endpoint as unknown as MailboxEndpoint<Parsers, Tx>);
    return endpoint;
  }

  /** Stops the actors, writes what is staged, and closes the mailboxes and the journal. */
  async close(): Promise<void> {
    this.supervisor.stopAll();
    await this.committer.close();
    for (const endpoint of this.#endpoints) await endpoint.close();
    await this.#reactor?.close();
    await this.options.journal.close();
  }
}
