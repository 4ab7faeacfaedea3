/**
 * `deno task cli devices reserve` and `devices console`: reserving a device (a
 * job queued like any other, master/lab/reservations.ts) and holding its
 * console in this terminal once it runs.
 */
import type { Command } from "../../actors/cli/command_line.ts";
import { stringOption, stringOptions, UsageError } from "../../actors/cli/command_line.ts";
import type { ApiClient } from "./api_client.ts";
import { aside, attachTerminal, ConsoleConnection, describeFrame, ESCAPE_HELP } from "./console.ts";
import type { CliContext } from "./remote_commands.ts";

const encoder = new TextEncoder();

function write(bytes: Uint8Array): void {
  let written = 0;
  while (written < bytes.length) written += Deno.stdout.writeSync(bytes.subarray(written));
}

async function readJobFile(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    throw new UsageError(`${path}: cannot read: ${(error as Error).message}`);
  }
}

/** Waits for the job to be Running (or over); returns its state then. */
async function running(client: ApiClient, job: string, print: (line: string) => void): Promise<string> {
  const abort = new AbortController();
  const events = client.events("/api/v1/events", abort.signal);
  // Subscribed before the state is read: a change in between is not missed.
  const first = events.next();
  try {
    let state = String((await client.json<{ state: string }>("GET", `/api/v1/jobs/${job}`)).state);
    if (state === "Submitted") print(`reservation ${job} is queued; waiting for its device`);
    let next = first;
    while (state !== "Running" && state !== "Finished" && state !== "Canceling") {
      const { value, done } = await next;
      if (done) throw new Error("the master's event stream ended");
      next = events.next();
      if (value.event !== "testjob") continue;
      const data = (JSON.parse(value.data) as { data: { job: unknown; state: unknown } }).data;
      if (String(data.job) === job) state = String(data.state);
    }
    return state;
  } finally {
    abort.abort();
    await events.return(undefined).catch(() => {});
  }
}

/**
 * Holds the console of running reservation `job` in this terminal until it ends or the user detaches; `boot`, a job
 * definition, is booted on the board first.
 */
async function hold(client: ApiClient, job: string, print: (line: string) => void, boot?: string): Promise<number> {
  const connection = await ConsoleConnection.open(client, job, (frame) => {
    if (frame.t === "output") write(encoder.encode(frame.data));
    else write(encoder.encode(aside(describeFrame(frame) ?? "")));
  });
  if (boot !== undefined) connection.send({ t: "boot", definition: boot });
  write(encoder.encode(aside(`console of reservation ${job}; ${ESCAPE_HELP}`)));
  const terminal = Deno.stdin.isTerminal();
  const reason = await attachTerminal(connection, {
    input: Deno.stdin.readable,
    ...(terminal ? { setRaw: (raw: boolean) => Deno.stdin.setRaw(raw) } : {}),
    write,
  });
  print(`\n${reason}`);
  return 0;
}

export const RESERVATION_COMMANDS: readonly Command<CliContext>[] = [
  {
    path: ["devices", "reserve"],
    summary: "reserve a device: queued like a job; once it runs, its console is here (Ctrl-] q detaches)",
    positionals: [],
    options: {
      device: { type: "string", help: "this device" },
      "device-type": { type: "string", help: "any device of this type (with --tags)" },
      tags: { type: "string", multiple: true, help: "a tag the device must have (repeatable)" },
      minutes: { type: "string", help: "how long (default 30, at most 1440)" },
      boot: { type: "string", help: "a job file whose deploy and boot actions run first" },
      priority: { type: "string", help: "high, medium, low or 0-100" },
      "no-console": { type: "boolean", help: "print the reservation's id and return" },
    },
    async run({ context, values, print }) {
      const device = stringOption(values, "device");
      const deviceType = stringOption(values, "device-type");
      if (!device && !deviceType) throw new UsageError("give --device NAME or --device-type TYPE");
      const minutesText = stringOption(values, "minutes");
      const minutes = minutesText === undefined ? undefined : Number(minutesText);
      if (minutes !== undefined && !Number.isInteger(minutes)) throw new UsageError("--minutes takes whole minutes");
      const bootFile = stringOption(values, "boot");
      const boot = bootFile === undefined ? undefined : await readJobFile(bootFile);
      const priorityText = stringOption(values, "priority");
      const priority = priorityText !== undefined && /^\d+$/.test(priorityText) ? Number(priorityText) : priorityText;
      const client = context.client();
      const result = await client.json<{ job_ids: string[] }>("POST", "/api/v1/reservations", {
        ...(device ? { device } : {}),
        ...(deviceType ? { device_type: deviceType } : {}),
        tags: stringOptions(values, "tags"),
        ...(minutes !== undefined ? { minutes } : {}),
        ...(boot !== undefined ? { boot } : {}),
        ...(priority !== undefined ? { priority } : {}),
      });
      const job = result.job_ids[0];
      print(job);
      if (values["no-console"]) return 0;
      const state = await running(client, job, print);
      if (state !== "Running") {
        print(`reservation ${job} ended before it ran (${state})`);
        return 1;
      }
      return await hold(client, job, print);
    },
  },
  {
    path: ["devices", "console"],
    summary: "the console of the reservation running on a device (Ctrl-] q detaches)",
    positionals: ["HOSTNAME"],
    options: { boot: { type: "string", help: "a job file whose deploy and boot actions run on the board first" } },
    async run({ context, positionals, values, print }) {
      const bootFile = stringOption(values, "boot");
      const boot = bootFile === undefined ? undefined : await readJobFile(bootFile);
      const client = context.client();
      const device = await client.json<{ current_job: number | null }>(
        "GET",
        `/api/v1/devices/${encodeURIComponent(positionals[0])}`,
      );
      if (device.current_job === null) {
        print(`${positionals[0]} runs no job you can see`);
        return 1;
      }
      const job = String(device.current_job);
      const state = await running(client, job, print);
      if (state !== "Running") {
        print(`job ${job} on ${positionals[0]} is ${state}`);
        return 1;
      }
      return await hold(client, job, print, boot);
    },
  },
];
