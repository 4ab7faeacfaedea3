/**
 * `deno task bench [NAME...] [-- options]`: runs Basalt's benchmarks and prints
 * their figures. Each benchmark is also runnable on its own (`deno run -A bench/NAME.ts`).
 */
import { formatDispatchBench, runDispatchBench } from "./dispatch.ts";
import { formatConsoleBench, runConsoleBench } from "./console.ts";
import { formatWebBench, runWebBench } from "./web.ts";
import { formatReservationBench, runReservationBench } from "./reservation.ts";
import { formatCoordinatorBench, runCoordinatorBench } from "./coordinator.ts";
import { formatCoordinatorIdleBench, runCoordinatorIdleBench } from "./coordinator_idle.ts";
import { formatLatencyBench, runLatencyBench } from "./latency.ts";
import { formatSchedulerBench, runSchedulerBench } from "./scheduler.ts";
import { formatMailboxBench, runMailboxBench } from "./mailbox.ts";
import { formatStorageBench, runStorageBench } from "./storage.ts";
import { formatValidateBench, runValidateBench } from "./validate.ts";
import { formatSseBench, runSseBench } from "./sse.ts";
import { formatPurgeBench, runPurgeBench } from "./purge.ts";
import { formatRestBench, runRestBench } from "./rest_api.ts";
import { parseSoakArgs, runSoak } from "./soak.ts";
import { formatSoak } from "./soak/report.ts";

const BENCHMARKS: Record<string, (args: string[]) => Promise<string>> = {
  storage: async (args) => formatStorageBench(await runStorageBench(args)),
  mailbox: async () => formatMailboxBench(await runMailboxBench()),
  validate: () => Promise.resolve(formatValidateBench(runValidateBench())),
  dispatch: async () => formatDispatchBench(await runDispatchBench()),
  console: async () => formatConsoleBench(await runConsoleBench()),
  scheduler: async () => formatSchedulerBench(await runSchedulerBench()),
  latency: async () => formatLatencyBench(await runLatencyBench()),
  coordinator: async () => formatCoordinatorBench(await runCoordinatorBench()),
  "coordinator-idle": async () => formatCoordinatorIdleBench(await runCoordinatorIdleBench()),
  web: async () => formatWebBench(await runWebBench()),
  reservation: async () => formatReservationBench(await runReservationBench()),
  sse: async () => formatSseBench(await runSseBench()),
  purge: async (args) => formatPurgeBench(await runPurgeBench(args)),
  rest: async (args) => formatRestBench(await runRestBench(args)),
  soak: async (args) => formatSoak(await runSoak(parseSoakArgs(args))),
};

// Benchmark names select; every other argument (e.g. `--db URL`) is passed on.
const names = Deno.args.filter((a) => a in BENCHMARKS);
const options = Deno.args.filter((a) => !(a in BENCHMARKS));
for (const name of names.length > 0 ? names : Object.keys(BENCHMARKS)) {
  console.log(`== ${name}`);
  console.log(await BENCHMARKS[name](options));
}
