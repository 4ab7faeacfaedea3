/**
 * The `deno task cli` commands that talk to a running master through its JSON
 * API: jobs, devices, workers, results, the lab's live events and one's callback
 * tokens. The master is
 * `--url` (or BASALT_URL, default http://127.0.0.1:8000) and the caller
 * `--token` (or BASALT_TOKEN).
 */
import type { Command } from "../../actors/cli/command_line.ts";
import { stringOption, UsageError } from "../../actors/cli/command_line.ts";
import type { ApiClient } from "./api_client.ts";
import { textTable } from "../../actors/cli/text_table.ts";

export interface CliContext {
  /** The master's API; only built for the commands that need it. */
  client(): ApiClient;
}

type Row = Record<string, unknown>;

function field(value: unknown): string {
  if (value === null || value === undefined) return "-";
  if (Array.isArray(value)) return value.join(",") || "-";
  return String(value);
}

function logLine(line: { line: number; dt: string; lvl: string; msg: unknown }): string {
  const msg = typeof line.msg === "string" ? line.msg : JSON.stringify(line.msg);
  return `${String(line.dt).slice(0, 19)} ${line.lvl.padEnd(7)} ${msg}`;
}

export const REMOTE_COMMANDS: readonly Command<CliContext>[] = [
  {
    path: ["jobs", "submit"],
    summary: "submit job files; prints each job's id (the sub-job ids of a MultiNode job)",
    positionals: ["FILE..."],
    options: {},
    async run({ context, positionals, print }) {
      for (const file of positionals) {
        let definition: string;
        try {
          definition = await Deno.readTextFile(file);
        } catch (error) {
          throw new UsageError(`${file}: cannot read: ${(error as Error).message}`);
        }
        const result = await context.client().json<{ job_ids: string[] }>("POST", "/api/v1/jobs", { definition });
        for (const id of result.job_ids) print(id);
      }
    },
  },
  {
    path: ["jobs", "show"],
    summary: "a job's state, health, device and times",
    positionals: ["ID"],
    options: { json: { type: "boolean", help: "print the JSON the API returns" } },
    async run({ context, positionals, values, print }) {
      const job = await context.client().json<Row>("GET", `/api/v1/jobs/${encodeURIComponent(positionals[0])}`);
      if (values.json) return print(JSON.stringify(job, null, 2));
      for (
        const key of [
          "id",
          "description",
          "state",
          "health",
          "device_type",
          "device",
          "submitter",
          "submit_time",
          "start_time",
          "end_time",
          "error_type",
          "error_msg",
        ]
      ) {
        print(`${key.padEnd(12)}: ${field(job[key])}`);
      }
    },
  },
  {
    path: ["jobs", "list"],
    summary: "jobs, newest first",
    positionals: [],
    options: {
      state: { type: "string", help: "only jobs in this state (Submitted, Running, Finished...)" },
      health: { type: "string", help: "only jobs with this health (Complete, Incomplete, Canceled...)" },
      limit: { type: "string", help: "how many (default 25)" },
    },
    async run({ context, values, print }) {
      const query = new URLSearchParams();
      if (typeof values.state === "string") query.set("state", values.state);
      if (typeof values.health === "string") query.set("health", values.health);
      query.set("limit", typeof values.limit === "string" ? values.limit : "25");
      const { results } = await context.client().json<{ results: Row[] }>("GET", `/api/v1/jobs?${query}`);
      print(textTable(
        ["id", "state", "health", "device", "submitter", "description"],
        results.map((j) => [j.id, j.state, j.health, j.device, j.submitter, j.description].map(field)),
      ));
    },
  },
  {
    path: ["jobs", "cancel"],
    summary: "cancel jobs (a MultiNode job as a whole)",
    positionals: ["ID..."],
    options: {},
    async run({ context, positionals, print }) {
      for (const id of positionals) {
        await context.client().json("POST", `/api/v1/jobs/${encodeURIComponent(id)}/cancel`);
        print(`${id}: cancelling`);
      }
    },
  },
  {
    path: ["jobs", "fail"],
    summary: "end stuck jobs Incomplete at once; their devices run a health check (administrators)",
    positionals: ["ID..."],
    options: { reason: { type: "string", help: "why, kept with the job" } },
    async run({ context, positionals, values, print }) {
      for (const id of positionals) {
        await context.client().json("POST", `/api/v1/jobs/${encodeURIComponent(id)}/fail`, {
          reason: stringOption(values, "reason") ?? "",
        });
        print(`${id}: failed`);
      }
    },
  },
  {
    path: ["jobs", "rm"],
    summary: "remove finished jobs with their logs and results (administrators)",
    positionals: ["ID..."],
    options: {},
    async run({ context, positionals, print }) {
      for (const id of positionals) {
        await context.client().json("DELETE", `/api/v1/jobs/${encodeURIComponent(id)}`);
        print(`${id}: removed`);
      }
    },
  },
  {
    path: ["callback-tokens", "list"],
    summary: "your callback tokens: the secrets a job's notify callbacks send when their token: names one",
    positionals: [],
    options: {},
    async run({ context, print }) {
      const { results } = await context.client().json<{ results: Row[] }>("GET", "/api/v1/callback-tokens");
      print(textTable(["description", "created"], results.map((t) => [t.description, t.created_at].map(field))));
    },
  },
  {
    path: ["callback-tokens", "add"],
    summary:
      "keep a secret for callbacks under DESCRIPTION: read from stdin with --secret-stdin, else made and printed",
    positionals: ["DESCRIPTION"],
    options: { "secret-stdin": { type: "boolean", help: "read the secret from the first line of stdin" } },
    async run({ context, positionals, values, print }) {
      let secret: string | undefined;
      if (values["secret-stdin"]) {
        const text = new TextDecoder().decode(await new Response(Deno.stdin.readable).arrayBuffer());
        secret = text.split(/\r?\n/)[0];
        if (!secret) throw new UsageError("--secret-stdin: stdin has no secret");
      }
      const made = await context.client().json<Row>("POST", "/api/v1/callback-tokens", {
        description: positionals[0],
        secret,
      });
      print(made.secret === undefined ? `${positionals[0]}: kept` : String(made.secret));
    },
  },
  {
    path: ["callback-tokens", "rm"],
    summary: "remove one of your callback tokens",
    positionals: ["DESCRIPTION"],
    options: {},
    async run({ context, positionals, print }) {
      await context.client().json("DELETE", `/api/v1/callback-tokens/${encodeURIComponent(positionals[0])}`);
      print(`${positionals[0]}: removed`);
    },
  },
  {
    path: ["jobs", "logs"],
    summary: "a job's log; with --follow, live until the job ends",
    positionals: ["ID"],
    options: {
      follow: { type: "boolean", help: "keep printing new lines until the job finishes" },
      start: { type: "string", help: "the first line to print (default 0)" },
      raw: { type: "boolean", help: "one JSON record per line, as the dispatcher writes them" },
    },
    async run({ context, positionals, values, print }) {
      const id = encodeURIComponent(positionals[0]);
      const start = typeof values.start === "string" ? Number(values.start) : 0;
      if (!Number.isInteger(start) || start < 0) throw new UsageError(`--start ${values.start} is not a line number`);
      const show = (line: { line: number; dt: string; lvl: string; msg: unknown }) =>
        print(values.raw ? JSON.stringify({ dt: line.dt, lvl: line.lvl, msg: line.msg }) : logLine(line));
      if (!values.follow) {
        const { lines } = await context.client().json<
          { lines: { line: number; dt: string; lvl: string; msg: unknown }[] }
        >(
          "GET",
          `/api/v1/jobs/${id}/logs?start=${start}`,
        );
        for (const line of lines) show(line);
        return;
      }
      for await (const message of context.client().events(`/api/v1/jobs/${id}/logs/stream?start=${start}`)) {
        if (message.event === "lines") { for (const line of JSON.parse(message.data)) show(line); }
        if (message.event === "end") {
          const end = JSON.parse(message.data);
          if (!values.raw) print(`job ${positionals[0]}: ${end.state}, ${end.health}`);
          return end.health === "Complete" ? 0 : 1;
        }
      }
    },
  },
  {
    path: ["results"],
    summary: "a job's test results (suite, case, result, measurement)",
    positionals: ["ID"],
    options: {
      format: { type: "string", help: "table (default), yaml or csv" },
    },
    async run({ context, positionals, values, print }) {
      const id = encodeURIComponent(positionals[0]);
      const format = typeof values.format === "string" ? values.format : "table";
      if (format === "yaml") return print((await context.client().text(`/api/v1/jobs/${id}/results.yaml`)).trimEnd());
      if (format === "csv") return print((await context.client().text(`/api/v1/jobs/${id}/results.csv`)).trimEnd());
      if (format !== "table") throw new UsageError(`--format ${format}: use table, yaml or csv`);
      const { results } = await context.client().json<{ results: Row[] }>("GET", `/api/v1/jobs/${id}/results`);
      print(textTable(
        ["suite", "case", "result", "measurement", "unit"],
        results.map((r) =>
          [r.suite, r.name, r.result, r.measurement === "None" ? "" : r.measurement, r.unit].map(field)
        ),
      ));
    },
  },
  {
    path: ["devices", "list"],
    summary: "devices with their state and health",
    positionals: [],
    options: { all: { type: "boolean", help: "include retired devices" } },
    async run({ context, values, print }) {
      const { results } = await context.client().json<{ results: Row[] }>(
        "GET",
        `/api/v1/devices${values.all ? "?all=true" : ""}`,
      );
      print(textTable(
        ["hostname", "type", "state", "health", "worker", "job"],
        results.map((d) => [d.hostname, d.device_type, d.state, d.health, d.worker, d.current_job].map(field)),
      ));
    },
  },
  {
    path: ["devices", "show"],
    summary: "a device's details",
    positionals: ["HOSTNAME"],
    options: {},
    async run({ context, positionals, print }) {
      const device = await context.client().json<Row>("GET", `/api/v1/devices/${encodeURIComponent(positionals[0])}`);
      for (
        const key of ["hostname", "device_type", "state", "health", "health_reason", "worker", "current_job", "tags"]
      ) {
        print(`${key.padEnd(13)}: ${field(device[key])}`);
      }
    },
  },
  {
    path: ["devices", "maintenance"],
    summary: "put a device in Maintenance (its running job finishes); --off puts it back in service (Unknown)",
    positionals: ["HOSTNAME"],
    options: {
      off: { type: "boolean", help: "leave maintenance: the device gets a health check first" },
      reason: { type: "string", help: "why, for the device's history" },
    },
    async run({ context, positionals, values, print }) {
      const health = values.off ? "Unknown" : "Maintenance";
      const device = await context.client().json<Row>(
        "POST",
        `/api/v1/devices/${encodeURIComponent(positionals[0])}/health`,
        { health, ...(typeof values.reason === "string" ? { reason: values.reason } : {}) },
      );
      print(`${device.hostname}: ${device.state}, ${device.health}`);
    },
  },
  {
    path: ["workers", "list"],
    summary: "workers with their state, health and devices",
    positionals: [],
    options: {},
    async run({ context, print }) {
      const { results } = await context.client().json<{ results: Row[] }>("GET", "/api/v1/workers");
      print(textTable(
        ["hostname", "state", "health", "version", "devices"],
        results.map((w) => [w.hostname, w.state, w.health, w.version || "-", w.devices].map(field)),
      ));
    },
  },
  {
    path: ["events", "listen"],
    summary: "print the lab's events (jobs, devices, workers) as they happen",
    positionals: [],
    options: {
      filter: { type: "string", help: "only these kinds, comma-separated: testjob, device, worker, event" },
      json: { type: "boolean", help: "one JSON event per line" },
    },
    async run({ context, values, print }) {
      const kinds = typeof values.filter === "string" ? new Set(values.filter.split(",")) : undefined;
      for await (const message of context.client().events("/api/v1/events")) {
        if (kinds && !kinds.has(message.event)) continue;
        const event = JSON.parse(message.data) as { datetime: string; topic: string; username: string; data: Row };
        if (values.json) {
          print(message.data);
          continue;
        }
        const d = event.data;
        const what = message.event === "testjob"
          ? `[${d.job}] <${d.device ?? "??"}> state=${d.state} health=${d.health} (${d.description})`
          : message.event === "device"
          ? `[${d.device}] ${d.device_type} state=${d.state} health=${d.health}${d.job ? ` for ${d.job}` : ""}`
          : message.event === "worker"
          ? `[${d.hostname}] state=${d.state} health=${d.health}`
          : `[${d.job}] message=${d.message}`;
        print(`${event.datetime.slice(0, 19)} ${event.topic} ${event.username} - ${what}`);
      }
    },
  },
];
