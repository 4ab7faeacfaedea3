/** LAVA's `scheduler.jobs.*` methods, and the older names lavacli still calls them by. */
import { validateJob } from "../../../actors/definitions/job_schema.ts";
import { JobHealth, JobState } from "../../../actors/domain/states.ts";
import { definitionFor, jobLogs, listJobs, queuedJobs, resolveJobId, resubmitJob, showJob } from "../../views/mod.ts";
import type { XmlRpcInput } from "../xmlrpc.ts";
import { codeOf, int, loggedIn, type Method, optionalInt, ownJob, RpcFault, text, visibleJob } from "./context.ts";

const submit: Method = {
  help: "submit a job definition (YAML); returns its id, or the sub-job ids of a MultiNode job",
  run: async (ctx, [definition]) => {
    const user = loggedIn(ctx);
    const jobs = await ctx.lab.submit(text(definition, "definition"), {
      id: user.id,
      username: user.username,
      is_superuser: user.is_superuser,
    });
    return jobs.length === 1 && !jobs[0].group ? jobs[0].id : jobs.map((j) => j.displayId);
  },
};

const cancel: Method = {
  help: "cancel a job (a MultiNode job as a whole)",
  run: async (ctx, [id]) => {
    loggedIn(ctx);
    await ctx.lab.cancel(await ownJob(ctx, id), `cancelled by ${ctx.user!.username}`);
    return true;
  },
};

export const JOB_METHODS: Record<string, Method> = {
  "scheduler.jobs.submit": submit,
  "scheduler.jobs.resubmit": {
    help: "submit a job's definition again",
    run: async (ctx, [id]) => {
      const jobs = await resubmitJob(ctx.lab, id, loggedIn(ctx));
      return jobs.length === 1 && !jobs[0].group ? jobs[0].id : jobs.map((j) => j.displayId);
    },
  },
  "scheduler.jobs.cancel": cancel,
  "scheduler.jobs.show": {
    help: "a job's details",
    run: async (ctx, [id]) => await showJob(ctx.lab, await visibleJob(ctx, id), "internal") as unknown as XmlRpcInput,
  },
  "scheduler.jobs.definition": {
    help: "a job's definition as submitted",
    run: async (ctx, [id]) => await definitionFor(ctx.lab, await resolveJobId(ctx.lab, id), ctx.user),
  },
  "scheduler.jobs.logs": {
    help: "log records [start, end) as YAML, and whether the job has finished",
    run: async (ctx, [id, start, end]) => {
      const result = await jobLogs(ctx.lab, await visibleJob(ctx, id), int(start, 0), optionalInt(end));
      return [result.finished, result.yaml];
    },
  },
  "scheduler.jobs.list": {
    help: "jobs, newest first: (state, health, start, limit, since, verbose)",
    run: async (ctx, [state, health, start, limit, _since, verbose]) => {
      const jobs = await listJobs(ctx.lab, {
        state: codeOf(JobState, state),
        health: codeOf(JobHealth, health),
        start: int(start, 0),
        limit: Math.min(int(limit, 25), 100),
      }, ctx.user);
      return jobs.map((j) => ({
        id: j.id,
        description: j.description,
        device_type: j.device_type,
        health: j.health,
        state: j.state,
        submitter: j.submitter,
        ...(verbose
          ? {
            actual_device: j.device,
            start_time: j.start_time ? String(j.start_time.toISOString()) : null,
            end_time: j.end_time ? String(j.end_time.toISOString()) : null,
            error_msg: j.error_msg,
            error_type: j.error_type,
          }
          : {}),
      }));
    },
  },
  "scheduler.jobs.queue": {
    help: "queued jobs, next first: (device_types, start, limit)",
    run: async (ctx, [types, start, limit]) =>
      await queuedJobs(
        ctx.lab,
        ctx.user,
        Array.isArray(types) ? types.map(String) : null,
        int(start, 0),
        int(limit, 25),
      ),
  },
  "scheduler.jobs.configuration": {
    help: "what a started job ran with: [definition, device, dispatcher, env, env-dut] (YAML texts)",
    run: async (ctx, [id]) => {
      const job = await visibleJob(ctx, id);
      const row = await ctx.lab.db.selectFrom("test_jobs as j").leftJoin("job_run_files as f", "f.job_id", "j.id")
        .select(["j.state", "j.definition", "f.device", "f.dispatcher", "f.env", "f.env_dut"])
        .where("j.id", "=", job).executeTakeFirstOrThrow();
      if (row.state < JobState.byName.Running) throw new RpcFault(404, `Job '${id}' has not started yet`);
      // LAVA's load_optional_file: a file that was not written is nil.
      const optional = (text: string | null) => (text ? text : null);
      return [row.definition, optional(row.device), optional(row.dispatcher), optional(row.env), optional(row.env_dut)];
    },
  },
  "scheduler.jobs.validate": {
    help: "check a definition against the job schema: {} when valid, else {path, msg}",
    run: (_ctx, [definition, strict]) => {
      const result = validateJob(text(definition, "definition"), { strict: strict === true });
      if (result.valid) return {};
      const first = result.errors[0];
      return { path: first.path, msg: `${first.message} (line ${first.line}, column ${first.column})` };
    },
  },
  "scheduler.submit_job": { help: "LAVA's old name of scheduler.jobs.submit", run: submit.run },
  "scheduler.cancel_job": { help: "LAVA's old name of scheduler.jobs.cancel", run: cancel.run },
};
