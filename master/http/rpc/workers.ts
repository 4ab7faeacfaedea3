/** LAVA's `scheduler.workers.*` methods: workers and their dispatcher configuration. */
import { WorkerHealth } from "../../../actors/domain/states.ts";
import type { WorkerHealthName } from "../../../actors/machines/worker.ts";
import { addLabWorker, updateWorkerConfig } from "../../lab/admin.ts";
import { showWorker, workerNames } from "../../views/mod.ts";
import type { XmlRpcInput, XmlRpcValue } from "../xmlrpc.ts";
import {
  access,
  codeOf,
  type Method,
  optionalInt,
  optionalText,
  type RpcContext,
  RpcFault,
  superuser,
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
    help: "add a worker: (hostname, description, disabled)",
    run: async (ctx, [hostname, description]) => {
      superuser(ctx);
      await addLabWorker(ctx.lab, text(hostname, "hostname"), optionalText(description) ?? "");
      return true;
    },
  },
  "scheduler.workers.update": {
    help: "change a worker: (hostname, description, health, job_limit)",
    run: async (ctx, [hostname, description, health, jobLimit]) => {
      superuser(ctx);
      const host = text(hostname, "hostname");
      await updateWorkerConfig(ctx.lab, host, {
        description: optionalText(description),
        jobLimit: optionalInt(jobLimit),
      });
      const code = codeOf(WorkerHealth, health);
      if (code !== undefined) ctx.lab.setWorkerHealth(host, WorkerHealth.name(code) as WorkerHealthName);
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
      superuser(ctx);
      await updateWorkerConfig(ctx.lab, text(hostname, "hostname"), { dispatcherConfig: text(config, "config") });
      return true;
    },
  },
  "scheduler.workers.get_env": { help: "a worker's env.yaml", run: (ctx, [hostname]) => workerInfo(ctx, hostname).env },
  "scheduler.workers.get_env_dut": {
    help: "a worker's env-dut.yaml",
    run: (ctx, [hostname]) => workerInfo(ctx, hostname).envDut,
  },
  "scheduler.workers.set_env_dut": {
    help: "store a worker's env-dut.yaml",
    run: async (ctx, [hostname, env]) => {
      superuser(ctx);
      await updateWorkerConfig(ctx.lab, text(hostname, "hostname"), { envDut: text(env, "env") });
      return true;
    },
  },
};

function workerInfo(ctx: RpcContext, hostname: XmlRpcValue | undefined) {
  const info = ctx.lab.catalog.workers.get(text(hostname, "hostname"));
  if (!info) throw new RpcFault(404, `Worker '${hostname}' was not found.`);
  return info;
}
