/** LAVA's `results.*` methods: a job's test cases and suites as YAML or CSV, and its metadata. */
import { stringify } from "yaml";
import { casesAsCsv, casesAsYaml, exportCases, suiteSummary } from "../../lab/results.ts";
import { jobMetadata } from "../../views/mod.ts";
import type { XmlRpcInput } from "../xmlrpc.ts";
import { int, loggedIn, type Method, optionalInt, RpcFault, text, visibleJob } from "./context.ts";
import { jobPage } from "../../views/mod.ts";

/**
 * LAVA's query conditions, `testjob__submitter__exact__kernelci,testjob__state__exact__Finished`, as the REST
 * filters read them (`submitter__username=kernelci`, `state=Finished`).
 */
function queryParams(conditions: string): Record<string, string> {
  const params: Record<string, string> = {};
  for (const condition of conditions.split(",").filter(Boolean).slice(0, 50)) {
    const parts = condition.split("__");
    if (parts.length < 4 || parts[0] !== "testjob") {
      throw new RpcFault(400, `Conditions URL incorrect: ${condition}`);
    }
    const [, field, op, ...value] = parts;
    const name = field === "submitter"
      ? "submitter__username"
      : field === "actual_device"
      ? "actual_device__hostname"
      : field;
    params[op === "exact" ? name : `${name}__${op}`] = value.join("__");
  }
  return params;
}

export const RESULT_METHODS: Record<string, Method> = {
  "results.get_testjob_results_yaml": {
    help: "every test case of a job, as YAML",
    run: async (ctx, [job]) => casesAsYaml(await exportCases(ctx.lab.db, await visibleJob(ctx, job))),
  },
  "results.get_testjob_results_csv": {
    help: "every test case of a job, as CSV",
    run: async (ctx, [job]) => casesAsCsv(await exportCases(ctx.lab.db, await visibleJob(ctx, job))),
  },
  "results.get_testsuite_results_yaml": {
    help: "the test cases of one suite: (job, suite, limit, offset)",
    run: async (ctx, [job, suite, limit, offset]) =>
      casesAsYaml(
        await exportCases(ctx.lab.db, await visibleJob(ctx, job), {
          suite: text(suite, "suite"),
          limit: optionalInt(limit),
          offset: int(offset, 0),
        }),
      ),
  },
  "results.get_testsuite_results_csv": {
    help: "the test cases of one suite, as CSV",
    run: async (ctx, [job, suite]) =>
      casesAsCsv(await exportCases(ctx.lab.db, await visibleJob(ctx, job), { suite: text(suite, "suite") })),
  },
  "results.get_testsuite_results_count": {
    help: "how many test cases a suite has",
    run: async (ctx, [job, suite]) =>
      (await exportCases(ctx.lab.db, await visibleJob(ctx, job), { suite: text(suite, "suite") })).length,
  },
  "results.get_testcase_results_yaml": {
    help: "one test case: (job, suite, case)",
    run: async (ctx, [job, suite, testCase]) =>
      casesAsYaml(
        await exportCases(ctx.lab.db, await visibleJob(ctx, job), {
          suite: text(suite, "suite"),
          testCase: text(testCase, "case"),
        }),
      ),
  },
  "results.get_testcase_results_csv": {
    help: "one test case, as CSV",
    run: async (ctx, [job, suite, testCase]) =>
      casesAsCsv(
        await exportCases(ctx.lab.db, await visibleJob(ctx, job), {
          suite: text(suite, "suite"),
          testCase: text(testCase, "case"),
        }),
      ),
  },
  "results.get_testjob_suites_list_yaml": {
    help: "a job's suites",
    run: async (ctx, [job]) => stringify(await suiteSummary(ctx.lab.db, await visibleJob(ctx, job))),
  },
  "results.get_testjob_suites_list_csv": {
    help: "a job's suites, as CSV (name, job, id)",
    run: async (ctx, [job]) => {
      const id = await visibleJob(ctx, job);
      const quoted = (v: string | number) => `"${String(v).replaceAll('"', '""')}"`;
      const rows = (await suiteSummary(ctx.lab.db, id)).map((s) => [s.name, s.job, s.id].map(quoted).join(","));
      return ['"name","job","id"', ...rows].join("\r\n") + "\r\n";
    },
  },
  "results.make_custom_query": {
    help: "jobs matching LAVA query conditions: (entity 'testjob', 'testjob__field__op__value,...', limit=200)",
    run: async (ctx, [entity, conditions, limit]) => {
      if (entity !== "testjob") {
        throw new RpcFault(
          400,
          `Wrong table name in entity parameter: Basalt queries only 'testjob', not '${entity}'.`,
        );
      }
      const params = queryParams(text(conditions ?? "", "conditions"));
      const { results } = await jobPage(ctx.lab, ctx.user, {
        params,
        offset: 0,
        limit: Math.min(int(limit, 200), 1000),
      });
      return results as unknown as XmlRpcInput;
    },
  },
  "results.run_query": {
    help: "a stored query's results: Basalt stores no queries, so every name is not found",
    run: (ctx, [name, _limit, username]) => {
      throw new RpcFault(
        404,
        `Query with name ${name} owned by user ${username ?? ctx.user?.username} does not exist.`,
      );
    },
  },
  "results.refresh_query": {
    help: "refresh a stored query: Basalt stores no queries, so every name is not found",
    run: (ctx, [name, username]) => {
      throw new RpcFault(
        404,
        `Query with name ${name} owned by user ${username ?? ctx.user?.username} does not exist.`,
      );
    },
  },
  "results.refresh_all_queries": {
    help: "refresh every stored query (administrators): Basalt stores none, so there is nothing to do",
    run: (ctx) => {
      if (!loggedIn(ctx).is_superuser) throw new RpcFault(403, "Only superusers can execute this action.");
      return null;
    },
  },
  "results.get_testjob_metadata": {
    help: "a job's metadata",
    run: async (ctx, [job]) => (await jobMetadata(ctx.lab, await visibleJob(ctx, job))) as XmlRpcInput,
  },
};
