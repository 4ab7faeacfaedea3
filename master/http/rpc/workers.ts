/** LAVA's `scheduler.workers.*` methods: workers and their dispatcher configuration. */
import { WorkerHealth } from "../../../actors/domain/states.ts";
import type { WorkerHealthName } from "../../../actors/machines/worker.ts";
import { addLabWorker, removeLabWorker, updateLabWorker } from "../../lab/admin/workers.ts";
import { requireAdministrator } from "../../lab/admin/authority.ts";
import { showWorker, workerNames } from "../../views/mod.ts";
import type { XmlRpcInput, XmlRpcValue } from "../xmlrpc.ts";
import { AlreadyExistsError } from "../../storage/errors.ts";
import {
  access,
  codeOf,
  loggedIn,
  type Method,
  optionalInt,
  optionalText,
  type RpcContext,
  RpcFault,
  text,
} from "./context.ts";

export const WORKER_METHODS: Record<string, Method> = {
  "scheduler.workers.list": { help: "worker host names", run: (ctx) => workerNames(ctx.lab) },
  "scheduler.workers.show": {
    help: "a worker's details",
    run: async (ctx, [hostname]) =>
      await showWorker(ctx.lab, text(hostname, "hostname"), await access(ctx)) as unknown as XmlRpcInput,
  },
  "scheduler.workers.add": {
    help: "add a worker: (hostname, description, disabled); a disabled one starts in Maintenance",
    run: async (ctx, [hostname, description, disabled]) => {
      const user = loggedIn(ctx);
      const host = text(hostname, "hostname");
      await addLabWorker(ctx.lab, user, host, optionalText(description) ?? "").catch((error) => {
        throw error instanceof AlreadyExistsError ? new RpcFault(400, "Bad request: worker already exists?") : error;
      });
      if (disabled === true) await updateLabWorker(ctx.lab, user, host, { health: "Maintenance" });
      return null;
    },
  },
  "scheduler.workers.update": {
    help: "change a worker: (hostname, description, health, job_limit); only what is not nil changes",
    run: async (ctx, [hostname, description, health, jobLimit]) => {
      const code = codeOf(WorkerHealth, health);
      await updateLabWorker(ctx.lab, loggedIn(ctx), text(hostname, "hostname"), {
        description: description === null || description === undefined ? undefined : text(description, "description"),
        jobLimit: optionalInt(jobLimit),
        health: code === undefined ? undefined : WorkerHealth.name(code) as WorkerHealthName,
      });
      return null;
    },
  },
  "scheduler.workers.delete": {
    help: "remove a worker that is offline and has no device left but retired ones",
    run: async (ctx, [hostname]) => {
      await removeLabWorker(ctx.lab, loggedIn(ctx), text(hostname, "hostname"));
      return null;
    },
  },
  "scheduler.workers.get_certificate": {
    help: "a worker's public CurveZMQ certificate (the master lets its key in)",
    run: async (ctx, [hostname]) => await ctx.lab.certificates.worker(workerName(ctx, hostname)),
  },
  "scheduler.workers.set_certificate": {
    help: "store a worker's public CurveZMQ certificate: its key is let in from then on (administrators)",
    run: async (ctx, [hostname, certificate]) => {
      requireAdministrator(loggedIn(ctx), "change_worker");
      await ctx.lab.certificates.setWorker(workerName(ctx, hostname), text(certificate, "certificate"));
      return true;
    },
  },
  "scheduler.workers.get_config": {
    help: "a worker's dispatcher configuration",
    run: (ctx, [hostname]) => workerInfo(ctx, hostname).dispatcherConfig,
  },
  "scheduler.workers.set_config": {
    help: "store a worker's dispatcher configuration",
    run: async (ctx, [hostname, config]) => {
      await updateLabWorker(ctx.lab, loggedIn(ctx), text(hostname, "hostname"), {
        dispatcherConfig: text(config, "config"),
      });
      return true;
    },
  },
  "scheduler.workers.get_env": { help: "a worker's env.yaml", run: (ctx, [hostname]) => workerInfo(ctx, hostname).env },
  "scheduler.workers.get_env_dut": {
    help: "a worker's env-dut.yaml",
    run: (ctx, [hostname]) => workerInfo(ctx, hostname).envDut,
  },
  "scheduler.workers.set_env": {
    help: "store a worker's env.yaml",
    run: async (ctx, [hostname, env]) => {
      await updateLabWorker(ctx.lab, loggedIn(ctx), text(hostname, "hostname"), { env: text(env, "env") });
      return true;
    },
  },
  "scheduler.workers.set_env_dut": {
    help: "store a worker's env-dut.yaml",
    run: async (ctx, [hostname, env]) => {
      await updateLabWorker(ctx.lab, loggedIn(ctx), text(hostname, "hostname"), { envDut: text(env, "env") });
      return true;
    },
  },
};

function workerName(ctx: RpcContext, hostname: XmlRpcValue | undefined): string {
  return workerInfo(ctx, hostname) && text(hostname, "hostname");
}

function workerInfo(ctx: RpcContext, hostname: XmlRpcValue | undefined) {
  const info = ctx.lab.catalog.workers.get(text(hostname, "hostname"));
  if (!info) throw new RpcFault(404, `Worker '${hostname}' was not found.`);
  return info;
}
