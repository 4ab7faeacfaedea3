/**
 * Basalt's `reservation` test action: the device, as the actions before it left
 * it (booted, at a bootloader prompt, or untouched), handed to a person until
 * they release it or the action's `timeout` — the reservation's length — runs
 * out. The console is relayed through a socket in the job's directory
 * (drivers/console_server.ts) that the worker connects to when the log says it
 * is open; keystrokes go to the device, power switches to the device's power, and
 * a job the holder sends has its deploy and boot actions run on it (another
 * kernel); everything printed and typed is in the job's log like any job's.
 */
import { join } from "../../../actors/path.ts";
import { shape } from "../../../actors/definitions/pipeline.ts";
import { isMapping } from "../../../actors/definitions/schema.ts";
import { MAX_TIMER_MS, timeoutSeconds } from "../../../actors/definitions/timeouts.ts";
import {
  CONSOLE_CLOSED,
  CONSOLE_OPEN,
  CONSOLE_SOCKET,
  type DownFrame,
  MAX_OUTPUT_CHARS,
  type PowerAction,
  type UpFrame,
} from "../../../actors/lab/console_frames.ts";
import { Console } from "../../drivers/console.ts";
import { ConsoleServer } from "../../drivers/console_server.ts";
import { QemuProcess } from "../../drivers/qemu.ts";
import type { JobLog } from "../../job/log.ts";
import type { ActionImplementation, ActionRun, Block, JobContext } from "../context.ts";
import { formatDiagnostic, validateJob } from "../../../actors/definitions/job_schema.ts";
import type { Strategy } from "../strategy.ts";
import { CONNECTION_ACTIONS } from "../boot/connection.ts";

/** The reservation ends this long before its action's timeout, so that running out of time is not a failure. */
const END_MARGIN_MS = 2000;
/** How long before the end the people watching are warned, unless the job says (`reservation.warning`). */
const DEFAULT_WARNING_S = 300;
/** Typed characters waiting for the device before more are dropped (a paste onto a 115200-baud line). */
const MAX_UNSENT_CHARS = 64 * 1024;
/** Power switches and boots under way or waiting; more are refused (a PDU is not to be cycled in a loop). */
const MAX_QUEUED_SWITCHES = 2;
/** The longest a power switch asked for by the holder may take. */
const POWER_TIMEOUT_MS = 120_000;

/**
 * Typed input, kept in the log as `input` records a line at a time (or after a
 * pause), so that a session typed a key at a time reads as it was typed.
 */
class TypedRecord {
  #pending = "";
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly log: JobLog) {}

  add(data: string): void {
    this.#pending += data;
    clearTimeout(this.#timer);
    if (/[\r\n]/.test(data) || this.#pending.length >= 1024) this.flush();
    else this.#timer = setTimeout(() => this.flush(), 1000);
  }

  flush(): void {
    clearTimeout(this.#timer);
    if (this.#pending === "") return;
    this.log.input(this.#pending.replace(/[\r\n]+$/, ""));
    this.#pending = "";
  }
}

type Power = "on" | "off" | "unknown";

const reservation: ActionImplementation = async (run: ActionRun) => {
  const { ctx, block, signal } = run;
  const settings = isMapping(block.reservation) ? block.reservation : {};
  const warningMs = (timeoutSeconds(settings.warning) ?? DEFAULT_WARNING_S) * 1000;
  const endsAt = Date.now() + Math.max(0, run.remainingMs() - END_MARGIN_MS);
  // Nothing booted the device: reach its console as a boot would (a QEMU device has none until it is started).
  if (!ctx.console && ctx.resources.connect !== undefined) await CONNECTION_ACTIONS["connect-device"](run);
  let power: Power = ctx.console && !ctx.console.isClosed && !ctx.poweredOff ? "on" : "unknown";
  const state = (): UpFrame => ({ t: "state", power, endsAt: new Date(endsAt).toISOString() });
  const typed = new TypedRecord(ctx.log);
  let over = false;
  let queuedSwitches = 0;
  let finish!: (how: string) => void;
  const finished = new Promise<string>((resolve) => finish = (how) => (over = true, resolve(how)));
  let switching = Promise.resolve();
  let typing = Promise.resolve();
  let unsent = 0;
  let holder: string | undefined;

  // The first connection (the worker) is sent what the screen shows at the hand-over: the prompt the boot left.
  let greeted = false;
  const server = ConsoleServer.listen({
    path: join(ctx.workDir, CONSOLE_SOCKET),
    greeting: () => {
      const screen = !greeted && ctx.console ? ctx.console.recentOutput : "";
      greeted = true;
      return screen ? [state(), { t: "output", data: screen.slice(-MAX_OUTPUT_CHARS) }] : [state()];
    },
    onProblem: (problem) => ctx.log.debug(`console socket: ${problem}`),
    onFrame: (frame: DownFrame) => {
      // Once it is over, nothing more reaches the device: finalize is about to power it off.
      if (over) return;
      if ((frame.t === "power" || frame.t === "boot") && queuedSwitches >= MAX_QUEUED_SWITCHES) {
        return notice(`a power switch or boot is already under way: ${frame.t} refused`);
      }
      switch (frame.t) {
        case "input": {
          const console = ctx.console;
          if (!console || console.isClosed) return notice("the device's console is not open (is it off?)");
          // Keys go to the device in order, one write after another; more than a slow line can take is dropped.
          if (unsent + frame.data.length > MAX_UNSENT_CHARS) {
            return notice("typing faster than the device takes: dropped");
          }
          typed.add(frame.data);
          unsent += frame.data.length;
          typing = typing.then(() => console.send(frame.data, { log: false }))
            .catch((error) => notice(`typing failed: ${error.message}`))
            .finally(() => unsent -= frame.data.length);
          return;
        }
        case "power":
          queuedSwitches++;
          switching = switching.then(() => switchPower(frame.action, frame.by)).finally(() => queuedSwitches--);
          return;
        case "release":
          typed.flush();
          ctx.log.info(`Reservation released by ${frame.by}`);
          return finish("released");
        case "boot":
          queuedSwitches++;
          switching = switching.then(() => bootAgain(frame.definition, frame.by)).finally(() => queuedSwitches--);
          return;
        case "holder":
          // The master says it again whenever the console (re)connects: only a change goes in the record.
          if (frame.by === holder) return;
          holder = frame.by;
          typed.flush();
          ctx.log.info(`${frame.by} holds the keyboard`);
          return;
      }
    },
  });
  const notice = (text: string) => server.broadcast({ t: "notice", text });
  let unlisten = relay(ctx.console, server);

  async function switchPower(action: PowerAction, by: string): Promise<void> {
    typed.flush();
    ctx.log.info(`Power ${action}, asked by ${by}`);
    notice(`power ${action}…`);
    try {
      const done = await applyPower(ctx, action, POWER_TIMEOUT_MS, signal, () => unlisten());
      if (!done) {
        notice(`this device has no way to switch its power ${action === "reset" ? "for a reset" : action}`);
        ctx.log.warning(`the device has no power ${action} command: nothing was done`);
        return;
      }
      unlisten();
      unlisten = relay(ctx.console, server);
      power = action === "off" ? "off" : "on";
      ctx.poweredOff = action === "off";
      server.broadcast(state());
      notice(`power ${action}: done`);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      ctx.log.error(`power ${action} failed: ${message}`);
      notice(`power ${action} failed: ${message}`);
    }
  }

  /** Runs the deploy and boot actions of the holder's job on the board, in place of what it was running. */
  async function bootAgain(definition: string, by: string): Promise<void> {
    typed.flush();
    const checked = validateJob(definition, { file: "boot job" });
    if (!checked.valid) {
      const problems = checked.errors.slice(0, 3).map(formatDiagnostic).join("; ");
      ctx.log.warning(`${by} asked for a boot with a job that is not valid: ${problems}`);
      return notice(`that job is not valid: ${problems}`);
    }
    const job = checked.job as Block;
    const actions = (job.actions as Block[]).filter((entry) => "deploy" in entry || "boot" in entry);
    if (actions.length === 0) return notice("that job has no deploy or boot actions");
    if (!ctx.runJobActions) return notice("this dispatcher cannot boot another job during a reservation");
    ctx.log.info(`Boot asked by ${by}: the deploy and boot actions of "${String(job.job_name)}"`);
    notice(`booting "${String(job.job_name)}"…`);
    unlisten();
    try {
      // The reservation's own settings stay: its device's configuration was rendered for its context.
      await ctx.runJobActions({ ...ctx.job, timeouts: job.timeouts, actions }, signal);
      power = "on";
      ctx.poweredOff = false;
      notice("boot: done");
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      ctx.log.error(`the boot asked by ${by} failed: ${message}`);
      notice(`boot failed: ${message}`);
    } finally {
      unlisten = relay(ctx.console, server);
      server.broadcast(state());
    }
  }

  const timers = [
    setTimeout(() => finish("time"), Math.min(endsAt - Date.now(), MAX_TIMER_MS)),
    ...(endsAt - warningMs > Date.now()
      ? [setTimeout(() => {
        const minutes = Math.round(warningMs / 60_000);
        const left = warningMs >= 60_000
          ? `${minutes} minute${minutes === 1 ? "" : "s"}`
          : `${Math.round(warningMs / 1000)} seconds`;
        ctx.log.warning(`The reservation ends in ${left}`);
        notice(`the reservation ends in ${left}`);
      }, Math.min(endsAt - warningMs - Date.now(), MAX_TIMER_MS))]
      : []),
  ];
  const onAbort = () => finish("aborted");
  signal.addEventListener("abort", onAbort, { once: true });
  ctx.log.info(`Reservation: the device is handed over until ${new Date(endsAt).toISOString()}`);
  ctx.log.write("event", CONSOLE_OPEN);
  try {
    const how = await finished;
    if (how === "time") ctx.log.info("The reservation's time is up");
    await switching;
  } finally {
    for (const timer of timers) clearTimeout(timer);
    signal.removeEventListener("abort", onAbort);
    typed.flush();
    unlisten();
    notice("the reservation has ended");
    await server.close();
    ctx.log.write("event", CONSOLE_CLOSED);
  }
  if (signal.aborted) throw signal.reason;
};

/** Relays what the device prints to the socket's connections, in frames of bounded size. */
function relay(console: Console | undefined, server: ConsoleServer): () => void {
  if (!console) return () => {};
  return console.listen((text) => {
    for (let at = 0; at < text.length; at += MAX_OUTPUT_CHARS) {
      server.broadcast({ t: "output", data: text.slice(at, at + MAX_OUTPUT_CHARS) });
    }
  });
}

/**
 * Switches the device's power: its commands, or for a virtual device the QEMU
 * its boot started (off stops it, on starts the same command again, with a new
 * console). False when the device has no way to.
 */
async function applyPower(
  ctx: JobContext,
  action: PowerAction,
  timeoutMs: number,
  signal: AbortSignal,
  detach: () => void,
): Promise<boolean> {
  const qemu = ctx.power instanceof QemuProcess ? ctx.power : undefined;
  if (!qemu) {
    if (action === "on") return await ctx.power.on(timeoutMs, signal);
    if (action === "off") return await ctx.power.off(timeoutMs, signal);
    return await ctx.power.reset(timeoutMs, signal);
  }
  if (action === "on" && qemu.process) return true;
  if (action !== "on") {
    detach();
    await qemu.off();
    await ctx.console?.close();
    ctx.console = undefined;
    if (action === "off") return true;
  }
  await qemu.on();
  ctx.console = new Console(qemu.process!, ctx.log);
  return true;
}

export const testReservation: Strategy = {
  section: "test",
  methods: ["reservation"],
  shape: () => shape("reservation", "hand the device's console to a person", "Reservation"),
  actions: () => ({ reservation }),
};
