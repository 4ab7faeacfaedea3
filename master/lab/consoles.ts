/**
 * The live consoles of running reservations on the master: what the worker
 * relays from the device goes to everyone watching, and what the keyboard's
 * holder types goes back. Several people may watch a reservation; one of them
 * holds the keyboard — the person who reserved the device, or an administrator
 * who takes it. Power switches and the release are the holder's too. Every
 * frame from a viewer is checked against the rules as they stand at that
 * moment (a revoked permission ends the reservation: see `accessChanged`).
 *
 * The master keeps the last 64 KiB of output of each reservation, so a viewer
 * who (re)connects sees the screen as it was; the record is the job's log.
 */
import {
  type DownFrame,
  MAX_BOOT_DEFINITION_CHARS,
  MAX_INPUT_CHARS,
  POWER_ACTIONS,
  type PowerAction,
  type UpFrame,
} from "../../actors/lab/console_frames.ts";
import type { Logger } from "../../actors/runtime/log.ts";
import type { ActorRegistry } from "./registry.ts";
import { LabRequestError } from "./request_error.ts";

/** Output kept per reservation for viewers who join later, in characters. */
const SCROLLBACK_CHARS = 64 * 1024;

/** What the master sends a viewer, besides the device's frames. */
export type ViewerFrame =
  | UpFrame
  /** Who holds the keyboard, and whether it is this viewer. */
  | { readonly t: "keyboard"; readonly holder: string | null; readonly yours: boolean }
  /** The console is over (the reservation ended, or this viewer may no longer watch). */
  | { readonly t: "ended"; readonly reason: string };

/** What a viewer may send. */
export type ViewerRequest =
  | { readonly t: "input"; readonly data: string }
  | { readonly t: "power"; readonly action: PowerAction }
  | { readonly t: "release" }
  | { readonly t: "boot"; readonly definition: string }
  | { readonly t: "take" };

/** A viewer's message (hostile input), or undefined for anything that is not a request. */
export function parseViewerRequest(text: unknown): ViewerRequest | undefined {
  if (typeof text !== "string" || text.length > MAX_BOOT_DEFINITION_CHARS * 6 + 100) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const r = value as Record<string, unknown>;
  switch (r.t) {
    case "input":
      return typeof r.data === "string" && r.data.length <= MAX_INPUT_CHARS ? { t: "input", data: r.data } : undefined;
    case "power":
      return (POWER_ACTIONS as readonly unknown[]).includes(r.action)
        ? { t: "power", action: r.action as PowerAction }
        : undefined;
    case "release":
    case "take":
      return { t: r.t };
    case "boot":
      return typeof r.definition === "string" && r.definition.length <= MAX_BOOT_DEFINITION_CHARS
        ? { t: "boot", definition: r.definition }
        : undefined;
    default:
      return undefined;
  }
}

export interface Viewer {
  readonly userId: number;
  readonly username: string;
  /** False when the viewer cannot keep up: it is then dropped. */
  send(frame: ViewerFrame): boolean;
  close(): void;
}

interface Session {
  readonly job: number;
  readonly viewers: Set<Viewer>;
  keyboard?: Viewer;
  scrollback: string;
  state?: UpFrame;
}

export interface ConsolesOptions {
  readonly registry: Pick<ActorRegistry, "facts" | "jobSnapshot" | "jobIds">;
  /** Sends a frame to the worker running the job, now; false when the worker is not reachable. */
  readonly sendDown: (worker: string, job: string, frame: DownFrame) => boolean;
  /** Whether a user may use the device (submit to it), as the lab's permissions say now. */
  readonly mayUse: (userId: number, device: string) => boolean;
  /** Whether a user is an administrator now. */
  readonly isAdministrator: (userId: number) => boolean;
  /** Ends a reservation whose holder lost the right to it. */
  readonly end: (job: number, reason: string) => void;
  readonly logger: Logger;
}

export class Consoles {
  readonly #sessions = new Map<number, Session>();
  readonly #log: Logger;

  constructor(private readonly o: ConsolesOptions) {
    this.#log = o.logger.with({ component: "consoles" });
  }

  /** The running reservation's worker, device, display id and holder, or why there is no console to open. */
  #running(job: number): { worker: string; device: string; displayId: string; holder: number } {
    const active = this.o.registry.facts(job);
    if (!active?.reservation) throw new LabRequestError(`job ${job} is not a running reservation`, 404);
    const context = this.o.registry.jobSnapshot(job)?.context;
    if (!context?.worker || !context.device || this.o.registry.jobSnapshot(job)?.state !== "Running") {
      throw new LabRequestError(`reservation ${job} is not running yet: its console opens when it runs`, 409);
    }
    return { worker: context.worker, device: context.device, displayId: active.displayId, holder: active.submitter };
  }

  /** Throws {@link LabRequestError} unless the job is a running reservation with a console to open. */
  check(job: number): void {
    this.#running(job);
  }

  /**
   * Adds a viewer to a running reservation's console (the caller checked it may see the job); returns how the
   * viewer's requests are handled and how it leaves.
   */
  join(job: number, viewer: Viewer): { request(request: ViewerRequest): void; leave(): void } {
    const { holder } = this.#running(job);
    let session = this.#sessions.get(job);
    if (!session) this.#sessions.set(job, session = { job, viewers: new Set(), scrollback: "" });
    const s = session;
    s.viewers.add(viewer);
    if (s.state) viewer.send(s.state);
    if (s.scrollback) viewer.send({ t: "output", data: s.scrollback });
    if (!s.keyboard && this.#mayType(viewer, holder)) this.#give(s, viewer);
    else viewer.send({ t: "keyboard", holder: s.keyboard?.username ?? null, yours: false });
    return {
      request: (request) => this.#request(s, viewer, request),
      leave: () => this.#leave(s, viewer),
    };
  }

  #mayType(viewer: Viewer, holder: number): boolean {
    return viewer.userId === holder || this.o.isAdministrator(viewer.userId);
  }

  #give(s: Session, viewer: Viewer | undefined): void {
    s.keyboard = viewer;
    for (const v of s.viewers) v.send({ t: "keyboard", holder: viewer?.username ?? null, yours: v === viewer });
    if (viewer) this.#down(s.job, { t: "holder", by: viewer.username });
  }

  #request(s: Session, viewer: Viewer, request: ViewerRequest): void {
    if (this.#sessions.get(s.job) !== s || !s.viewers.has(viewer)) return;
    let running;
    try {
      running = this.#running(s.job);
    } catch {
      return;
    }
    if (request.t === "take") {
      if (!this.#mayType(viewer, running.holder)) {
        viewer.send({ t: "notice", text: "only the person who reserved the device or an administrator may type" });
        return;
      }
    } else if (s.keyboard !== viewer) {
      viewer.send({ t: "notice", text: `${s.keyboard?.username ?? "nobody"} holds the keyboard` });
      return;
    } else if (!this.#mayType(viewer, running.holder)) {
      // An administrator demoted while holding the keyboard stops typing at once.
      this.#give(s, undefined);
      return;
    }
    // The rules as they are now: a demoted administrator or a revoked grant stops counting at once.
    if (!this.o.mayUse(viewer.userId, running.device)) {
      viewer.send({ t: "notice", text: "you may no longer use this device" });
      return;
    }
    if (request.t === "take") {
      if (s.keyboard !== viewer) this.#give(s, viewer);
      return;
    }
    switch (request.t) {
      case "input":
        if (request.data.length > MAX_INPUT_CHARS) return;
        return void this.#down(s.job, { t: "input", data: request.data }, viewer);
      case "power":
        return void this.#down(s.job, { t: "power", action: request.action, by: viewer.username }, viewer);
      case "release":
        return void this.#down(s.job, { t: "release", by: viewer.username }, viewer);
      case "boot":
        return void this.#down(s.job, { t: "boot", definition: request.definition, by: viewer.username }, viewer);
    }
  }

  #down(job: number, frame: DownFrame, from?: Viewer): boolean {
    const facts = this.o.registry.jobSnapshot(job)?.context;
    const sent = facts?.worker ? this.o.sendDown(facts.worker, facts.id, frame) : false;
    if (!sent) from?.send({ t: "notice", text: "the device's worker is not reachable now; try again" });
    return sent;
  }

  #leave(s: Session, viewer: Viewer): void {
    if (!s.viewers.delete(viewer)) return;
    if (s.keyboard === viewer) {
      const holder = this.o.registry.facts(s.job)?.submitter;
      const next = [...s.viewers].find((v) => holder !== undefined && this.#mayType(v, holder));
      this.#give(s, next);
    }
  }

  /** A frame from the worker running the job; one from any other worker is dropped. */
  up(worker: string, job: number, frame: UpFrame): void {
    let running;
    try {
      running = this.#running(job);
    } catch {
      return;
    }
    if (running.worker !== worker) {
      this.#log.warning("a worker sent console output for a job it does not run; dropped", { worker, job });
      return;
    }
    let s = this.#sessions.get(job);
    if (!s) this.#sessions.set(job, s = { job, viewers: new Set(), scrollback: "" });
    if (frame.t === "output") s.scrollback = (s.scrollback + frame.data).slice(-SCROLLBACK_CHARS);
    else if (frame.t === "state") {
      s.state = frame;
      // A state frame greets every new connection from the worker: the holder, said when nothing was attached to
      // hear it (a viewer faster than the worker, or a worker restarting), is said again.
      if (s.keyboard) this.#down(job, { t: "holder", by: s.keyboard.username });
    }
    for (const viewer of [...s.viewers]) {
      if (!viewer.send(frame)) this.#leave(s, viewer);
    }
  }

  /** The job ended: its console closes for everyone. */
  ended(job: number, reason = "the reservation has ended"): void {
    const s = this.#sessions.get(job);
    if (!s) return;
    this.#sessions.delete(job);
    for (const viewer of s.viewers) {
      viewer.send({ t: "ended", reason });
      viewer.close();
    }
  }

  /** The lab's permissions changed: a running reservation whose holder may no longer use its device ends. */
  accessChanged(): void {
    for (const id of this.o.registry.jobIds()) {
      const active = this.o.registry.facts(id);
      const device = this.o.registry.jobSnapshot(id)?.context.device;
      if (!active?.reservation || !device) continue;
      if (!this.o.mayUse(active.submitter, device)) {
        this.#log.info("a reservation's holder may no longer use its device; it ends", { job: id, device });
        this.o.end(id, "the holder may no longer use the device");
      }
    }
  }

  /** How many viewers watch each reservation (for /metrics and tests). */
  viewers(job: number): number {
    return this.#sessions.get(job)?.viewers.size ?? 0;
  }
}
